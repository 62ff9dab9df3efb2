#!/usr/bin/env node
// Compiles packages/nx-nixos/src to dist/ (CommonJS) with swc and copies every schema.json beside the
// compiled executor or generator (executors.json and generators.json point at dist/). Nx runs graph
// inference on every command; loading compiled JavaScript there avoids registering a TypeScript
// transpiler each time. Runs on `npm ci` / `npm install` (the root "prepare" script) and before the tests.
//
// --pack: the build that goes into the npm tarball (the package's "prepack" script): no source maps, no
// comments and no indentation (names stay, so stack traces still read), and type declarations (.d.ts) of
// the public API (index.d.ts and what it imports) from tsc beside the JavaScript.
//
// Usage: node tools/build-plugin.js [--pack] [package-dir]   (default: packages/nx-nixos)
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { minifySync, transformSync } = require('@swc/core');
const { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const args = process.argv.slice(2);
const pack = args.includes('--pack');
const pkg = resolve(args.find((arg) => !arg.startsWith('--')) ?? join(__dirname, '../packages/nx-nixos'));
const src = join(pkg, 'src');
const dist = join(pkg, 'dist');
// The same rule load.js uses to tell whether dist/ is current: what runs, not the tests and their helpers.
const { isRuntimeSource } = require(join(pkg, 'load.js'));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return isRuntimeSource(relative(src, path)) || entry.name === 'schema.json' ? [path] : [];
  });
}

/** Keeps the declarations index.d.ts reaches through its imports: the package's public types. */
function pruneDeclarations() {
  const keep = new Set();
  const visit = (file) => {
    if (keep.has(file)) return;
    keep.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/(?:from\s+|import\()['"](\.{1,2}\/[^'"]+)['"]/g)) visit(join(dirname(file), `${spec}.d.ts`));
  };
  visit(join(dist, 'index.d.ts'));
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).forEach((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.d.ts') && !keep.has(path)) rmSync(path);
    });
  walk(dist);
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const files = sources(src).sort();
const code = files.filter((file) => file.endsWith('.ts'));
let newest = 0;
// The plugin's code identity: graph inference caches are keyed by it, so a rebuilt plugin never reads
// entries that older code wrote (see load.js).
const hash = createHash('sha256');
for (const file of files) {
  const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
  mkdirSync(dirname(out), { recursive: true });
  if (!file.endsWith('.ts')) {
    copyFileSync(file, out);
    continue;
  }
  newest = Math.max(newest, statSync(file).mtimeMs);
  const text = readFileSync(file, 'utf8');
  hash.update(relative(src, file)).update('\0').update(text).update('\0');
  const { code: js } = transformSync(text, {
    filename: file,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: pack ? false : 'inline',
  });
  writeFileSync(out, pack ? minifySync(js, { compress: false, mangle: false, format: { comments: false, beautify: true } }).code : js);
}
if (pack) {
  // Declarations only; the JavaScript above is swc's. tsc checks the types on the way.
  const tsc = require.resolve('typescript/bin/tsc', { paths: [pkg] });
  const r = spawnSync(process.execPath, [tsc, '-p', join(pkg, 'tsconfig.dist.json')], { stdio: ['ignore', process.stderr, process.stderr] });
  if (r.status !== 0) {
    console.error('nx-nixos: tsc could not write the type declarations (see above).');
    process.exit(1);
  }
  pruneDeclarations();
}
writeFileSync(join(dist, '.sources.json'), JSON.stringify({ files: code.length, newestMtimeMs: newest, codeHash: hash.digest('hex') }));
const what = pack ? ' with declarations, no source maps,' : '';
// npm pack --json prints the tarball's contents on stdout: the packed build reports on stderr.
(pack ? console.error : console.log)(`nx-nixos: compiled ${code.length} files${what} to ${relative(process.cwd(), dist) || dist} in ${Date.now() - started} ms`);
