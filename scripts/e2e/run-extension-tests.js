#!/usr/bin/env node
// Runs the in-extension-host suite (test/vscode) inside code-server's extension-test mode. This is what CI runs.
// Needs `npm run build` and the tools from scripts/setup.sh. Ends with a `N passed, N failed` line.
//   node scripts/e2e/run-extension-tests.js            (MAXQ_VSCODE_TEST_FILTER=<substring> for a subset)
'use strict';
require('./run-compiled')('runExtensionTests.js', 'runExtensionTests');
