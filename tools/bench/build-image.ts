/**
 * Issue targets for the workspace and plugin, measured on real nx and nix:
 * - plugin cost on `nx show projects` (daemon off): with the plugin vs without it in nx.json, and an
 *   empty plugin installed in node_modules (the floor Nx charges any plugin), in two layouts: the plugin
 *   installed from node_modules (any workspace that uses it), and this repository's layout, where it is
 *   an npm workspace package of the workspace itself;
 * - a cache-hit `nx run development:build-image` vs a cache-hit trivial cached target;
 * - CPU that progress parsing adds to a `nix build` that prints many log lines.
 * Run: node -r @swc-node/register tools/bench/build-image.ts [runs] [graph]
 * With `graph`, only the first part runs; the other results are kept from the previous results file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixBuild } from '../../packages/nx-nixos/src/nix/build';
import { NIX_EXPERIMENTAL_FEATURES } from '../../packages/nx-nixos/src/nix/command';
import { buildLogFile, inWorkspace } from '../../packages/nx-nixos/src/layout';
import { createTestWorkspace, hermeticFlake, testEnv } from '../../packages/nx-nixos/src/testing/workspace';
import { median, timeMs, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 7);
const GRAPH_ONLY = process.argv[3] === 'graph';
const REPO = join(__dirname, '../..');
const EMPTY_PLUGIN = "exports.name = 'empty'; exports.createNodesV2 = ['**/never-matches.json', () => []];\n";

/**
 * `node_modules` of a benchmark workspace: links to this repository's packages, an empty plugin package,
 * and @rave/nx-nixos linked to `plugin` (this repository's package, or the workspace's own copy).
 */
function linkNodeModules(root: string, plugin: string) {
  const modules = join(root, 'node_modules');
  rmSync(modules, { recursive: true, force: true });
  mkdirSync(join(modules, '@rave'), { recursive: true });
  for (const entry of readdirSync(join(REPO, 'node_modules'))) if (entry !== '@rave') symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  symlinkSync(plugin, join(modules, '@rave', 'nx-nixos'));
  mkdirSync(join(modules, 'empty-nx-plugin'));
  writeFileSync(join(modules, 'empty-nx-plugin', 'package.json'), JSON.stringify({ name: 'empty-nx-plugin', version: '0.0.0', main: 'index.js' }));
  writeFileSync(join(modules, 'empty-nx-plugin', 'index.js'), EMPTY_PLUGIN);
}

/** A copy of this repository's plugin package in `pkg`, with dist/ compiled from its sources as after `npm ci`. */
function copyPlugin(pkg: string) {
  mkdirSync(pkg, { recursive: true });
  for (const entry of ['package.json', 'index.js', 'load.js', 'executors.json', 'generators.json', 'bin', 'schemas', 'src'])
    if (existsSync(join(REPO, 'packages/nx-nixos', entry))) cpSync(join(REPO, 'packages/nx-nixos', entry), join(pkg, entry), { recursive: true });
  symlinkSync(join(REPO, 'packages/nx-nixos/node_modules'), join(pkg, 'node_modules'));
  if (spawnSync(process.execPath, [join(REPO, 'tools/build-plugin.js'), pkg], { stdio: 'ignore' }).status !== 0) throw new Error('tools/build-plugin.js failed');
}

/** A copy of this repository's workspace (flake, profiles, infra, the plugin as an npm workspace package). */
function repoLayoutWorkspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'nx-nixos-bench-repo-'));
  for (const entry of ['package.json', 'tsconfig.base.json', 'tsconfig.json', 'flake.nix', 'flake.lock', 'profiles', 'infra'])
    if (existsSync(join(REPO, entry))) cpSync(join(REPO, entry), join(root, entry), { recursive: true });
  copyPlugin(join(root, 'packages', 'nx-nixos'));
  linkNodeModules(root, join(root, 'packages', 'nx-nixos'));
  writeFileSync(join(root, '.gitignore'), 'node_modules\n.nx/\n');
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-qm', 'bench']])
    if (spawnSync('git', args, { cwd: root, env: testEnv() }).status !== 0) throw new Error(`git ${args[0]} failed in ${root}`);
  return root;
}

/**
 * `NX_DAEMON=false nx show projects` with nx.json listing no plugin, the empty plugin, and @rave/nx-nixos:
 * the whole command, and Nx's own measure of the graph computation in it (`createProjectGraphAsync`,
 * printed with NX_PERF_LOGGING), which leaves out Nx's start-up and exit.
 */
function graphCost(root: string, pluginEntry: unknown, isolatePlugins: boolean) {
  const configs = { withoutPlugin: { plugins: [] }, emptyPlugin: { plugins: ['empty-nx-plugin'] }, withPlugin: { plugins: [pluginEntry] } };
  type Variant = keyof typeof configs;
  const variants = Object.keys(configs) as Variant[];
  const command: Record<Variant, number[]> = { withoutPlugin: [], emptyPlugin: [], withPlugin: [] };
  const graph: Record<Variant, number[]> = { withoutPlugin: [], emptyPlugin: [], withPlugin: [] };
  const show = (name: Variant) => {
    writeFileSync(join(root, 'nx.json'), JSON.stringify(configs[name]));
    const env = testEnv({ NX_ISOLATE_PLUGINS: String(isolatePlugins), NX_PERF_LOGGING: 'true' });
    const start = process.hrtime.bigint();
    const r = spawnSync(join(REPO, 'node_modules/.bin/nx'), ['show', 'projects'], { cwd: root, env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`nx show projects (${name}) failed in ${root}: ${r.stdout}${r.stderr}`);
    const measured = /Time taken for 'createProjectGraphAsync' ([\d.]+)ms/.exec(r.stdout + r.stderr);
    if (!measured) throw new Error(`nx printed no createProjectGraphAsync time: ${r.stdout}${r.stderr}`);
    return { ms, graphMs: Number(measured[1]) };
  };
  for (const name of variants) show(name); // Nx's and the plugin's caches
  for (let i = 0; i < RUNS; i++)
    for (const name of variants) {
      const { ms, graphMs } = show(name);
      command[name].push(ms);
      graph[name].push(graphMs);
    }
  const summary = (times: Record<Variant, number[]>) => ({
    ...times,
    medianWithoutPluginMs: median(times.withoutPlugin),
    medianEmptyPluginMs: median(times.emptyPlugin),
    medianWithPluginMs: median(times.withPlugin),
    pluginOverheadMs: median(times.withPlugin) - median(times.withoutPlugin),
    emptyPluginOverheadMs: median(times.emptyPlugin) - median(times.withoutPlugin),
    pluginAboveEmptyMs: median(times.withPlugin) - median(times.emptyPlugin),
  });
  return { command: summary(command), graphComputation: summary(graph) };
}

const repoProfile = (name: string) => readFileSync(join(REPO, 'profiles', name, 'profile.json'), 'utf8');

function assertOk(result: { code: number; output: string }, what: string) {
  if (result.code !== 0) throw new Error(`${what} failed:\n${result.output}`);
}

async function main() {
  const nonce = `true bench-${Date.now()}; `;
  const LOG_LINES = 200_000;
  const ws = createTestWorkspace({
    files: {
      'flake.nix': hermeticFlake({
        packages: {
          development: `${nonce}$bb mkdir $out; echo disk > $out/nixos.qcow2`,
          production: `${nonce}$bb mkdir $out; echo disk > $out/nixos.qcow2`,
          demo: `${nonce}$bb mkdir $out; echo disk > $out/nixos.qcow2`,
          // Worst case: a build that only prints.
          chatty: `${nonce}$bb seq 1 ${LOG_LINES} | $bb sed 's/^/building step /'; echo done > $out`,
          // Closer to a real build: CPU work (hashing 1.5 GiB) with a log line per 64 KiB of it.
          busy: `${nonce}$bb dd if=/dev/zero bs=64k count=24000 2>/dev/null | $bb sha256sum; $bb seq 1 24000 | $bb sed 's/^/compiling unit /'; echo done > $out`,
        },
      }),
      'profiles/development/profile.json': repoProfile('development'),
      'profiles/production/profile.json': repoProfile('production'),
      'profiles/demo/profile.json': repoProfile('demo'),
      'trivial/project.json': JSON.stringify({
        name: 'trivial',
        targets: { noop: { command: 'echo noop', cache: true, inputs: ['{projectRoot}/**/*'], outputs: [] } },
      }),
    },
  });
  const repoWs = repoLayoutWorkspace();
  const installed = mkdtempSync(join(tmpdir(), 'nx-nixos-bench-pkg-'));
  try {
    const pluginEntry = (JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8')) as { plugins: unknown[] }).plugins[0];
    // The plugin installed outside the workspace, and the empty plugin a package too: Nx treats a plugin
    // inside the workspace differently.
    copyPlugin(join(installed, 'nx-nixos'));
    symlinkSync(join(REPO, 'node_modules'), join(installed, 'node_modules'));
    linkNodeModules(ws.root, join(installed, 'nx-nixos'));
    // Nx 22 starts a worker process per plugin unless NX_ISOLATE_PLUGINS=false (environment or .env).
    const graph = {
      isolatedPlugins: { installed: graphCost(ws.root, pluginEntry, true), repoLayout: graphCost(repoWs, pluginEntry, true) },
      pluginsInProcess: { installed: graphCost(ws.root, pluginEntry, false), repoLayout: graphCost(repoWs, pluginEntry, false) },
      targetMs: 300,
    };
    type Kept = Record<string, unknown> & { measured?: string };
    const previous = JSON.parse(readFileSync(join(__dirname, 'results/build-image.json'), 'utf8')) as { date: string; cacheHit: Kept; progressParsing: Kept };
    if (GRAPH_ONLY) {
      writeResults('build-image', {
        runs: RUNS,
        graph,
        cacheHit: { ...previous.cacheHit, measured: previous.cacheHit.measured ?? previous.date },
        progressParsing: { ...previous.progressParsing, measured: previous.progressParsing.measured ?? previous.date },
      });
      return;
    }

    assertOk(ws.nx(['run', 'development:build-image']), 'build-image');
    assertOk(ws.nx(['run', 'trivial:noop']), 'trivial');
    const hit = { buildImage: [] as number[], trivial: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      hit.trivial.push(timeMs(() => assertOk(ws.nx(['run', 'trivial:noop']), 'trivial')));
      hit.buildImage.push(timeMs(() => assertOk(ws.nx(['run', 'development:build-image']), 'build-image')));
    }

    // Progress parsing: CPU of this process while nixBuild parses a build's stream and writes its log,
    // against the CPU of Nix (and its builder) for the same build run directly with its stderr discarded.
    const parsing: Record<string, { parserCpuMs: number[]; nixDirectCpuMs: number[] }> = {};
    let round = 0;
    const freshFlake = () => {
      ws.write('flake.nix', readFileSync(join(ws.root, 'flake.nix'), 'utf8').replace(/true (bench|parse)-[\w-]+; /g, `true parse-${Date.now()}-${round++}; `));
      ws.commit(`round ${round}`);
    };
    for (const attr of ['chatty', 'busy']) {
      parsing[attr] = { parserCpuMs: [], nixDirectCpuMs: [] };
      for (let i = 0; i < Math.min(RUNS, 5); i++) {
        freshFlake();
        parsing[attr].nixDirectCpuMs.push(await childCpuMs(['build', `${ws.root}#${attr}`, '--no-link', '--log-format', 'internal-json', '-L'], ws.root));
        freshFlake();
        const before = process.cpuUsage();
        // With the full log file, as build-image writes it.
        const result = await nixBuild({ cwd: ws.root, installable: `${ws.root}#${attr}`, logFile: inWorkspace(ws.root, buildLogFile('bench')), progress: { write: () => true, isTTY: false } });
        const used = process.cpuUsage(before);
        if (result.monitor.finished.length !== 1) throw new Error(`the ${attr} build did not run`);
        parsing[attr].parserCpuMs.push((used.user + used.system) / 1000);
      }
    }

    const hitOverhead = median(hit.buildImage) - median(hit.trivial);
    writeResults('build-image', {
      runs: RUNS,
      graph,
      cacheHit: { ...hit, medianBuildImageMs: median(hit.buildImage), medianTrivialMs: median(hit.trivial), overheadMs: hitOverhead, targetMs: 300 },
      progressParsing: Object.fromEntries(
        Object.entries(parsing).map(([attr, p]) => [
          attr,
          { ...p, medianParserCpuMs: median(p.parserCpuMs), medianNixCpuMs: median(p.nixDirectCpuMs), parserCpuShare: median(p.parserCpuMs) / median(p.nixDirectCpuMs), target: 0.05 },
        ]),
      ),
    });
  } finally {
    ws.cleanup();
    rmSync(repoWs, { recursive: true, force: true });
    rmSync(installed, { recursive: true, force: true });
  }
}

/** CPU time (user + system) of a nix child process, read from its rusage. */
function childCpuMs(args: string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S', 'nix', ...NIX_EXPERIMENTAL_FEATURES, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4096)));
    child.on('close', (code) => {
      const times = err.trim().split('\n').pop()!.split(' ').map(Number);
      if (code !== 0 || times.some(Number.isNaN)) reject(new Error(`nix ${args.join(' ')} failed: ${err}`));
      else resolve((times[0] + times[1]) * 1000);
    });
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
