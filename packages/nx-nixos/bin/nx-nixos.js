#!/usr/bin/env node
// Runs the package's TypeScript sources directly (no build step), as Nx does for the plugin.
require('@swc-node/register');
require('../src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
