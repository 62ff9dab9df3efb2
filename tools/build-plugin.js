#!/usr/bin/env node
// Compiles packages/nx-nixos/src to dist/ (CommonJS) with swc. Nx runs graph inference on every
// command; loading compiled JavaScript there avoids registering a TypeScript transpiler each time.
// Runs on `npm ci` / `npm install` (the root "prepare" script) and before the tests.
// Usage: node tools/build-plugin.js [package-dir]   (default: packages/nx-nixos)
const { createHash } = require('node:crypto');
const { transformSync } = require('@swc/core');
const { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const pkg = resolve(process.argv[2] ?? join(__dirname, '../packages/nx-nixos'));
const src = join(pkg, 'src');
const dist = join(pkg, 'dist');
const isSource = (file) => file.endsWith('.ts') && !/\.(spec|e2e)\.ts$/.test(file) && !file.endsWith('.d.ts');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : isSource(path) ? [path] : [];
  });
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const files = sources(src).sort();
let newest = 0;
// The plugin's code identity: graph inference caches are keyed by it, so a rebuilt plugin never reads
// entries that older code wrote (see load.js).
const hash = createHash('sha256');
for (const file of files) {
  newest = Math.max(newest, statSync(file).mtimeMs);
  const text = readFileSync(file, 'utf8');
  hash.update(relative(src, file)).update('\0').update(text).update('\0');
  const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
  const { code } = transformSync(text, {
    filename: file,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
}
writeFileSync(join(dist, '.sources.json'), JSON.stringify({ files: files.length, newestMtimeMs: newest, codeHash: hash.digest('hex') }));
console.log(`nx-nixos: compiled ${files.length} files to ${relative(process.cwd(), dist) || dist} in ${Date.now() - started} ms`);
