'use strict';
// Loads a module of this package: the compiled copy in dist/ while it is current, else the TypeScript
// source through swc (while the plugin is being edited, or before `npm run build`). Nx and the bin
// start here on every command, so the common case must not register a TypeScript transpiler.
const { createHash } = require('node:crypto');
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const SRC = join(__dirname, 'src');
const DIST = join(__dirname, 'dist');
const isSource = (name) => name.endsWith('.ts') && !/\.(spec|e2e|d)\.ts$/.test(name);

function scan(dir, acc) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) scan(path, acc);
    else if (isSource(entry.name)) {
      const stat = statSync(path);
      acc.files++;
      acc.newest = Math.max(acc.newest, stat.mtimeMs);
      acc.signature.push(`${relative(SRC, path)}\0${stat.size}\0${stat.mtimeMs}`);
    }
  }
  return acc;
}

let state;
/**
 * Whether dist/ is current, and the identity of the code that runs: the content hash written by
 * tools/build-plugin.js for dist/, else a hash of the sources' names, sizes and modification times.
 * Graph inference keys its caches by it, so edited plugin code never reads entries older code wrote.
 */
function inspect() {
  if (state) return state;
  let now;
  try {
    now = scan(SRC, { files: 0, newest: 0, signature: [] });
  } catch {
    now = undefined; // a published package: dist/ only
  }
  let built;
  try {
    built = JSON.parse(readFileSync(join(DIST, '.sources.json'), 'utf8'));
  } catch {
    built = undefined;
  }
  const current =
    typeof built?.codeHash === 'string' && (!now || (now.files === built.files && now.newest <= built.newestMtimeMs));
  const codeHash = current ? built.codeHash : createHash('sha256').update(now.signature.sort().join('\n')).digest('hex');
  return (state = { current, codeHash });
}

exports.loadModule = function loadModule(name) {
  if (inspect().current) return require(join(DIST, `${name}.js`));
  require('@swc-node/register');
  return require(join(SRC, `${name}.ts`));
};

/** Identity of the plugin code this process runs (see inspect). */
exports.codeHash = () => inspect().codeHash;
