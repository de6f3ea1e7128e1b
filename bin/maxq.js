#!/usr/bin/env node
'use strict';
// The `maxq` CLI entry: the compiled core and CLI live in out/ (npm run build).
const { main } = require('../out/src/cli/main.js');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`maxq: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  },
);
