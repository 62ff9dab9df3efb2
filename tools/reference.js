#!/usr/bin/env node
// Maintainer command of this repository (`npm run reference`): regenerates docs/reference/ and the profile JSON
// Schema from the plugin's schemas; --check only reports drift. It writes into this repository, so it is not a
// command of the published nx-nixos CLI.
require('../packages/nx-nixos/load')
  .loadModule('cli/reference')
  .command.run(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
