'use strict';
// Loads a module of this package: the compiled copy in dist/ while it is current, else the TypeScript
// source through swc (while the plugin is being edited, or before `npm run build`). Nx and the bin
// start here on every command, so the common case must not register a TypeScript transpiler.
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const SRC = join(__dirname, 'src');
const DIST = join(__dirname, 'dist');
const isSource = (name) => name.endsWith('.ts') && !/\.(spec|e2e|d)\.ts$/.test(name);

function scan(dir, acc) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) scan(path, acc);
    else if (isSource(entry.name)) {
      acc.files++;
      acc.newest = Math.max(acc.newest, statSync(path).mtimeMs);
    }
  }
  return acc;
}

let current;
function compiledIsCurrent() {
  if (current === undefined) {
    try {
      const built = JSON.parse(readFileSync(join(DIST, '.sources.json'), 'utf8'));
      const now = scan(SRC, { files: 0, newest: 0 });
      current = now.files === built.files && now.newest <= built.newestMtimeMs;
    } catch {
      current = false;
    }
  }
  return current;
}

exports.loadModule = function loadModule(name) {
  if (compiledIsCurrent()) return require(join(DIST, `${name}.js`));
  require('@swc-node/register');
  return require(join(SRC, `${name}.ts`));
};
