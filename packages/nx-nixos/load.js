'use strict';
// Loads a module of this package. An installed copy (under node_modules, or without src/) runs the
// compiled dist/ and nothing else. The workspace package being developed runs dist/ while it is current,
// else the TypeScript source through swc (while the plugin is being edited, or before `npm run build`).
// Nx and the bin start here on every command, so the common case must not register a TypeScript transpiler.
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, readdirSync, statSync } = require('node:fs');
const { join, relative, sep } = require('node:path');

const SRC = join(__dirname, 'src');
const DIST = join(__dirname, 'dist');

/**
 * Whether a file of src/ (relative path) is code that runs, compiled to dist/: not a test and not a test
 * helper. tools/build-plugin.js compiles exactly these.
 */
function isRuntimeSource(path) {
  const parts = path.split(/[\\/]/);
  const name = parts[parts.length - 1];
  if (!name.endsWith('.ts') || /\.(spec|e2e|d)\.ts$/.test(name)) return false;
  return parts[0] !== 'testing' && !/^(fuzz-.*|fixture-tree)\.ts$/.test(name);
}

/** An installed copy: npm sets its files' times to the install time, so only dist/ can be trusted. */
const installed = () => __dirname.split(sep).includes('node_modules') || !existsSync(SRC);

function scan(dir, acc) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) scan(path, acc);
    else if (isRuntimeSource(relative(SRC, path))) {
      const stat = statSync(path);
      acc.files++;
      acc.newest = Math.max(acc.newest, stat.mtimeMs);
      acc.signature.push(`${relative(SRC, path)}\0${stat.size}\0${stat.mtimeMs}`);
    }
  }
  return acc;
}

function readBuild() {
  try {
    return JSON.parse(readFileSync(join(DIST, '.sources.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

let state;
/**
 * Whether dist/ runs, and the identity of the code that runs: the content hash written by
 * tools/build-plugin.js for dist/, else a hash of the sources' names, sizes and modification times.
 * Graph inference keys its caches by it, so edited plugin code never reads entries older code wrote.
 */
function inspect() {
  if (state) return state;
  const built = readBuild();
  if (installed()) {
    const version = JSON.parse(readFileSync(join(__dirname, 'package.json'), 'utf8')).version;
    return (state = { current: true, codeHash: typeof built?.codeHash === 'string' ? built.codeHash : `version ${version}` });
  }
  const now = scan(SRC, { files: 0, newest: 0, signature: [] });
  const current = typeof built?.codeHash === 'string' && now.files === built.files && now.newest <= built.newestMtimeMs;
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

exports.isRuntimeSource = isRuntimeSource;
