#!/usr/bin/env node
// Runs the in-extension-host suite (test/vscode) inside code-server's extension-test mode. This is what CI runs.
// Needs `npm run build` and the tools from scripts/setup.sh. Ends with a `N passed, N failed` line.
//   node scripts/e2e/run-extension-tests.js            (MAXQ_VSCODE_TEST_FILTER=<substring> for a subset)
'use strict';
const fs = require('fs');
const path = require('path');

const entry = path.join(__dirname, '..', '..', 'out', 'test', 'e2e', 'runExtensionTests.js');
if (!fs.existsSync(entry)) {
  console.error(`${path.relative(process.cwd(), entry)} is missing: run npm run build first`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
require(entry)
  .runExtensionTests()
  .then(
    (code) => process.exit(code),
    (e) => {
      console.error(e && e.message ? e.message : e);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
