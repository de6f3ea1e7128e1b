// Shared by the E2E entry scripts: runs an exported async function of a compiled test module (out/test/e2e/…)
// and exits with its code; a missing build or a crash still ends with a `N passed, N failed` line CI can read.
'use strict';
const fs = require('fs');
const path = require('path');

module.exports = function runCompiled(moduleName, fnName) {
  const entry = path.join(__dirname, '..', '..', 'out', 'test', 'e2e', moduleName);
  if (!fs.existsSync(entry)) {
    console.error(`${path.relative(process.cwd(), entry)} is missing: run npm run build first`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  require(entry)[fnName]().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e && e.message ? e.message : e);
      console.log('0 passed, 1 failed');
      process.exit(1);
    },
  );
};
