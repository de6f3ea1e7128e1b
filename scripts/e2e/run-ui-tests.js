#!/usr/bin/env node
// Runs the UI end-to-end tests (test/e2e/ui) against code-server with the packaged .vsix installed, in Debian
// Chromium via playwright-core. Needs `npm run build`, `bash scripts/e2e/package-vsix.sh` and the tools from
// scripts/setup.sh. Screenshots go to test-artifacts/e2e/. Ends with a `N passed, N failed` line.
//   node scripts/e2e/run-ui-tests.js            (MAXQ_UI_TEST_FILTER=<substring> for a subset)
'use strict';
const fs = require('fs');
const path = require('path');

const entry = path.join(__dirname, '..', '..', 'out', 'test', 'e2e', 'runUi.js');
if (!fs.existsSync(entry)) {
  console.error(`${path.relative(process.cwd(), entry)} is missing: run npm run build first`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
require(entry)
  .runUiTests()
  .then(
    (code) => process.exit(code),
    (e) => {
      console.error(e && e.message ? e.message : e);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
