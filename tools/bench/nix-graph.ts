/**
 * Graph inference over a generated workspace of PROFILES profiles and MODULES Nix module files
 * (MODULES / 10 module folders; each module imports up to three earlier modules, a realistic DAG;
 * each profile imports a shared base config and 5 to 15 modules):
 * - cold: createNodes + createDependencies in process with an empty plugin cache, median of RUNS;
 * - warm: the same with the cache left by the previous run, median of RUNS;
 * - one edit: the same after changing one module file (a new import), median of RUNS;
 * - fresh process: createNodes alone with a valid cache, in a new Node process loading the compiled
 *   plugin (dist/, built first) as Nx does, without this process's warmed-up JIT, median of RUNS;
 * - baseline in the same process: reading every .nix and profile.json file once (the I/O floor);
 * - when ws-runs > 0: `NX_DAEMON=false nx show projects` on the generated workspace with and without
 *   the plugin (node_modules linked from this repository), median of ws-runs.
 * Run: node -r @swc-node/register tools/bench/nix-graph.ts [runs] [profiles] [modules] [ws-runs]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CreateDependenciesContext, CreateNodesContextV2, CreateNodesResultV2 } from '@nx/devkit';
import { diskView } from '../../packages/nx-nixos/src/nix/imports';
import { createNodesForFiles } from '../../packages/nx-nixos/src/plugin/create-nodes';
import { nixDependencies } from '../../packages/nx-nixos/src/plugin/nix-dependencies';
import { resolveOptions } from '../../packages/nx-nixos/src/plugin/options';
import { median, timeMs, timeMsAsync, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 5);
const PROFILES = Number(process.argv[3] ?? 200);
const MODULES = Number(process.argv[4] ?? 2000);
const WS_RUNS = Number(process.argv[5] ?? 5);
const REPO = join(__dirname, '../..');

let seed = 2026;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (n: number) => Math.floor(random() * n);

const modulePath = (i: number) => `infra/nixos/modules/group${String(Math.floor(i / 10)).padStart(3, '0')}/m${i % 10}.nix`;
function rel(fromFile: string, to: string): string {
  const up = dirname(fromFile).split('/').map(() => '..');
  return `${up.join('/')}/${to}`;
}

function generate(dir: string): string[] {
  const files: string[] = [];
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
    files.push(file);
  };
  write('flake.nix', '{ outputs = { self }: { profiles = builtins.readDir ./profiles; lib = import ./infra/nixos/lib/profiles.nix; }; }\n');
  write('flake.lock', '{ "nodes": {}, "root": "root", "version": 7 }\n');
  write('infra/nixos/lib/profiles.nix', '{ profilesDir }: builtins.attrNames (builtins.readDir profilesDir)\n');
  write('infra/nixos/configs/base.nix', `{ ... }: { imports = [ ${[0, 1, 2].map((i) => rel('infra/nixos/configs/base.nix', modulePath(i))).join(' ')} ]; }\n`);
  for (let i = 0; i < MODULES; i++) {
    const file = modulePath(i);
    const imports = i < 10 ? [] : [...new Set(Array.from({ length: pick(4) }, () => pick(i)))].map((j) => rel(file, modulePath(j)));
    const lines = ['# A generated module; see ./README.md and "./not-a-path.nix".', '{ config, lib, ... }:', '{', `  imports = [ ${imports.join(' ')} ];`];
    for (let l = 0; l < 15; l++) lines.push(`  services.s${i}.o${l} = "value \${toString ${l}} ./str-${l}.nix";`);
    if (i % 50 === 0) lines.push(`  environment.etc.data.source = ./.;`);
    lines.push('}');
    write(file, lines.join('\n') + '\n');
  }
  const template = JSON.parse(readFileSync(join(REPO, 'profiles/demo/profile.json'), 'utf8')) as { $schema?: string; flake: Record<string, unknown> };
  for (let p = 0; p < PROFILES; p++) {
    const name = `p${String(p).padStart(3, '0')}`;
    delete template.$schema;
    write(`profiles/${name}/profile.json`, JSON.stringify({ ...template, name, flake: { ...template.flake, attribute: name, aliases: [] } }, null, 2) + '\n');
    const mods = Array.from({ length: 5 + pick(11) }, () => rel(`profiles/${name}/profile.nix`, modulePath(pick(MODULES))));
    write(`profiles/${name}/profile.nix`, `{ ... }:\n{\n  imports = [ ../../infra/nixos/configs/base.nix ${[...new Set(mods)].join(' ')} ];\n}\n`);
  }
  return files;
}

/** The project file map Nx would build: every file, with its content hash, owned by the deepest project root above it. */
function dependencyContext(dir: string, results: CreateNodesResultV2): CreateDependenciesContext {
  const projects: Record<string, { root: string; name: string }> = { repo: { root: '.', name: 'repo' } };
  for (const [, result] of results)
    for (const [root, p] of Object.entries(result.projects ?? {})) projects[p.name ?? root] = { root, name: p.name ?? root };
  const byRoot = new Map(Object.values(projects).map((p) => [p.root, p.name]));
  const projectFileMap: Record<string, { file: string; hash: string }[]> = Object.fromEntries(Object.keys(projects).map((n) => [n, []]));
  for (const abs of diskView.listFiles(dir)) {
    const file = abs.slice(dir.length + 1);
    let d = dirname(file);
    while (d !== '.' && !byRoot.has(d)) d = dirname(d);
    projectFileMap[byRoot.get(d) ?? 'repo'].push({ file, hash: createHash('sha1').update(readFileSync(abs)).digest('hex') });
  }
  return {
    workspaceRoot: dir,
    projects,
    fileMap: { projectFileMap, nonProjectFiles: [] },
    filesToProcess: { projectFileMap, nonProjectFiles: [] },
    externalNodes: {},
    nxJsonConfiguration: {},
  };
}

function nxShowProjects(dir: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(join(REPO, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd: dir, env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nx show projects failed in ${dir}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'nix-graph-bench-'));
  const data = join(dir, '.nx', 'workspace-data');
  process.env.NX_WORKSPACE_DATA_DIRECTORY = data;
  try {
    const files = generate(dir);
    const pluginFiles = files.filter((f) => f.endsWith('.nix') || f.endsWith('/profile.json'));
    const context = { workspaceRoot: dir, nxJsonConfiguration: {} } as CreateNodesContextV2;
    const options = resolveOptions({});
    const graph = async () => {
      const results = await createNodesForFiles(pluginFiles, {}, context);
      const deps = nixDependencies(options, dependencyContext(dir, results));
      return { results, deps };
    };
    // Building Nx's file map is Nx's work, not the plugin's: measured apart and subtracted.
    const first = await graph();
    const fileMapMs = median(Array.from({ length: RUNS }, () => timeMs(() => dependencyContext(dir, first.results))));
    const cold: number[] = [];
    const warm: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      rmSync(data, { recursive: true, force: true });
      cold.push((await timeMsAsync(graph)) - fileMapMs);
    }
    for (let r = 0; r < RUNS; r++) warm.push((await timeMsAsync(graph)) - fileMapMs);
    const edited: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const file = modulePath(MODULES - 1 - pick(MODULES / 2));
      writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace('imports = [ ', `imports = [ ${rel(file, modulePath(pick(10)))} `));
      edited.push((await timeMsAsync(graph)) - fileMapMs);
    }
    if (spawnSync(process.execPath, [join(REPO, 'tools/build-plugin.js')], { stdio: 'ignore' }).status !== 0) throw new Error('build-plugin failed');
    writeFileSync(join(dir, 'plugin-files.json'), JSON.stringify(pluginFiles));
    const freshScript = `
      const files = JSON.parse(require('fs').readFileSync(${JSON.stringify(join(dir, 'plugin-files.json'))}, 'utf8'));
      const { createNodesForFiles } = require(${JSON.stringify(join(REPO, 'packages/nx-nixos/dist/plugin/create-nodes.js'))});
      const start = process.hrtime.bigint();
      createNodesForFiles(files, {}, { workspaceRoot: ${JSON.stringify(dir)}, nxJsonConfiguration: {} })
        .then(() => console.log(Number(process.hrtime.bigint() - start) / 1e6));`;
    const fresh = Array.from({ length: RUNS + 1 }, () => {
      const r = spawnSync(process.execPath, ['-e', freshScript], { env: { ...process.env, NX_WORKSPACE_DATA_DIRECTORY: data }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`fresh createNodes failed: ${r.stderr}`);
      return Number(r.stdout.trim());
    }).slice(1); // the first one refills the cache for the compiled code's identity
    const baseline = median(Array.from({ length: RUNS }, () => timeMs(() => pluginFiles.forEach((f) => readFileSync(join(dir, f))))));
    const projects = first.results.reduce((n, [, r]) => n + Object.keys(r.projects ?? {}).length, 0);

    let nx: Record<string, unknown> = { skipped: 'ws-runs = 0' };
    if (WS_RUNS > 0) {
      symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true }));
      const nxJson = (plugins: unknown[]) => writeFileSync(join(dir, 'nx.json'), JSON.stringify({ plugins }));
      const measure = () => {
        nxShowProjects(dir); // fills Nx's own caches
        return median(Array.from({ length: WS_RUNS }, () => nxShowProjects(dir)));
      };
      nxJson([]);
      rmSync(join(dir, '.nx'), { recursive: true, force: true });
      const without = measure();
      nxJson([{ plugin: '@rave/nx-nixos', options: {} }]);
      rmSync(join(dir, '.nx'), { recursive: true, force: true });
      const withPlugin = measure();
      nx = { runs: WS_RUNS, withoutPluginMs: without, withPluginMs: withPlugin, ratio: withPlugin / without };
    }

    writeResults('nix-graph', {
      workspace: { profiles: PROFILES, moduleFiles: MODULES, nixFiles: files.filter((f) => f.endsWith('.nix')).length, projects, edges: first.deps.length },
      runs: RUNS,
      inProcess: {
        coldMs: median(cold),
        warmMs: median(warm),
        oneFileEditedMs: median(edited),
        freshProcessWarmCreateNodesMs: median(fresh),
        baselineReadAllMs: baseline,
        coldToBaseline: median(cold) / baseline,
        warmToBaseline: median(warm) / baseline,
        nxFileMapMsSubtracted: fileMapMs,
        coldRunsMs: cold,
        warmRunsMs: warm,
        oneFileEditedRunsMs: edited,
        freshProcessWarmCreateNodesRunsMs: fresh,
      },
      nxShowProjects: nx,
      limits: { coldMs: 2000, warmMs: 200 },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
