/**
 * Issue targets for the workspace and plugin, measured on real nx and nix:
 * - plugin cost on `nx show projects` (daemon off): with the plugin vs without it in nx.json;
 * - a cache-hit `nx run development:build-image` vs a cache-hit trivial cached target;
 * - CPU that progress parsing adds to a `nix build` that prints many log lines.
 * Run: node -r @swc-node/register tools/bench/build-image.ts [runs]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nixBuild } from '../../packages/nx-nixos/src/nix/build';
import { NIX_EXPERIMENTAL_FEATURES } from '../../packages/nx-nixos/src/nix/command';
import { createTestWorkspace, hermeticFlake } from '../../packages/nx-nixos/src/testing/workspace';
import { median, timeMs, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 7);
const REPO = join(__dirname, '../..');
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
      // The floor of any Nx plugin: Nx starts a worker process per plugin (plugin isolation).
      'tools/empty-plugin.js': "exports.name = 'empty'; exports.createNodesV2 = ['**/never-matches.json', () => []];\n",
      'trivial/project.json': JSON.stringify({
        name: 'trivial',
        targets: { noop: { command: 'echo noop', cache: true, inputs: ['{projectRoot}/**/*'], outputs: [] } },
      }),
    },
  });
  try {
    const withPlugin = readFileSync(join(ws.root, 'nx.json'), 'utf8');
    const withoutPlugin = JSON.stringify({ plugins: [] });
    const emptyPlugin = JSON.stringify({ plugins: ['./tools/empty-plugin.js'] });
    // Warm-up: Nx's own caches and the plugin's inference cache.
    assertOk(ws.nx(['show', 'projects']), 'nx show projects');

    const graph = { withPlugin: [] as number[], withoutPlugin: [] as number[], emptyPlugin: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      ws.write('nx.json', withoutPlugin);
      graph.withoutPlugin.push(timeMs(() => assertOk(ws.nx(['show', 'projects']), 'nx show projects (no plugin)')));
      ws.write('nx.json', emptyPlugin);
      graph.emptyPlugin.push(timeMs(() => assertOk(ws.nx(['show', 'projects']), 'nx show projects (empty plugin)')));
      ws.write('nx.json', withPlugin);
      graph.withPlugin.push(timeMs(() => assertOk(ws.nx(['show', 'projects']), 'nx show projects')));
    }

    assertOk(ws.nx(['run', 'development:build-image']), 'build-image');
    assertOk(ws.nx(['run', 'trivial:noop']), 'trivial');
    const hit = { buildImage: [] as number[], trivial: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      hit.trivial.push(timeMs(() => assertOk(ws.nx(['run', 'trivial:noop']), 'trivial')));
      hit.buildImage.push(timeMs(() => assertOk(ws.nx(['run', 'development:build-image']), 'build-image')));
    }

    // Progress parsing: CPU of this process while nixBuild parses a build's stream, against the CPU of
    // Nix (and its builder) for the same build run directly with its stderr discarded.
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
        const result = await nixBuild({ cwd: ws.root, installable: `${ws.root}#${attr}`, progress: { write: () => true, isTTY: false } });
        const used = process.cpuUsage(before);
        if (result.monitor.finished.length !== 1) throw new Error(`the ${attr} build did not run`);
        parsing[attr].parserCpuMs.push((used.user + used.system) / 1000);
      }
    }

    const graphOverhead = median(graph.withPlugin) - median(graph.withoutPlugin);
    const hitOverhead = median(hit.buildImage) - median(hit.trivial);
    writeResults('build-image', {
      runs: RUNS,
      graph: {
        isolatePlugins: process.env.NX_ISOLATE_PLUGINS ?? 'default',
        ...graph,
        medianWithPluginMs: median(graph.withPlugin),
        medianWithoutPluginMs: median(graph.withoutPlugin),
        medianEmptyPluginMs: median(graph.emptyPlugin),
        pluginOverheadMs: graphOverhead,
        emptyPluginOverheadMs: median(graph.emptyPlugin) - median(graph.withoutPlugin),
        targetMs: 300,
      },
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
