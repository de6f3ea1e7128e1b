#!/usr/bin/env node
// Runs the UI end-to-end tests (test/e2e/ui) against code-server with the packaged .vsix installed, in Debian
// Chromium via playwright-core. Needs `npm run build`, `bash scripts/e2e/package-vsix.sh` and the tools from
// scripts/setup.sh. Screenshots go to test-artifacts/e2e/. Ends with a `N passed, N failed` line.
//   node scripts/e2e/run-ui-tests.js            (MAXQ_UI_TEST_FILTER=<substring> for a subset)
'use strict';
require('./run-compiled')('runUi.js', 'runUiTests');
