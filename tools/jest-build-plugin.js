// Jest globalSetup of the e2e tests: Nx runs the plugin's executors and generators from dist/
// (executors.json, generators.json), so the tests build it from the current sources first.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = () => {
  const r = spawnSync(process.execPath, [join(__dirname, 'build-plugin.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('tools/build-plugin.js failed; the e2e tests would run an old dist/.');
};
