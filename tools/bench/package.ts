/**
 * Size of the npm tarball of @rave/nx-nixos, measured with `npm pack --dry-run --json`:
 * - baseline: what a package without a `files` list ships, built in this process from the same sources: a
 *   copy of the package folder, everything in it (the development build of dist/ with inline source maps,
 *   the TypeScript sources, tests and fixtures), no `files` and no prepack script;
 * - now: the package folder itself (its prepack script makes the packed build).
 * Run: node -r @swc-node/register tools/bench/package.ts
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeResults } from './lib';

const REPO = join(__dirname, '../..');
const PLUGIN = join(REPO, 'packages/nx-nixos');

interface Packed {
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

function pack(dir: string, extra: string[] = []): Packed {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', ...extra], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack in ${dir} failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as Packed[])[0];
}

const summary = (p: Packed) => {
  const kinds = { typeScriptSources: 0, tests: 0, fixtures: 0, declarations: 0 };
  for (const { path } of p.files) {
    if (path.endsWith('.d.ts')) kinds.declarations++;
    else if (path.endsWith('.ts')) kinds.typeScriptSources++;
    if (/\.(spec|e2e)\.ts$/.test(path)) kinds.tests++;
    if (/(^|\/)fixtures\//.test(path)) kinds.fixtures++;
  }
  return { packedBytes: p.size, unpackedBytes: p.unpackedSize, files: p.entryCount, ...kinds };
};

const tmp = mkdtempSync(join(tmpdir(), 'nx-nixos-pack-bench-'));
try {
  const copy = join(tmp, 'nx-nixos');
  cpSync(PLUGIN, copy, { recursive: true, filter: (src) => !src.includes(`${PLUGIN}/node_modules`) && !src.endsWith('.tgz') });
  const build = spawnSync(process.execPath, [join(REPO, 'tools/build-plugin.js'), copy], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(build.stderr);
  const manifest = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as Record<string, unknown>;
  delete manifest.files;
  delete manifest.scripts;
  writeFileSync(join(copy, 'package.json'), JSON.stringify(manifest, null, 2));
  const baseline = summary(pack(copy, ['--ignore-scripts']));
  const now = summary(pack(PLUGIN));
  writeResults('package', {
    baseline,
    now,
    ratio: { packed: Number((now.packedBytes / baseline.packedBytes).toFixed(3)), files: Number((now.files / baseline.files).toFixed(3)) },
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
