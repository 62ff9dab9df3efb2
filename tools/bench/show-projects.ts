/**
 * `nx show projects` (graph inference runs the plugin, which loads and checks its options) in this
 * workspace against a baseline checkout, alternating, daemon off, Nx's graph cache cleared each time:
 * median of RUNS for each and their ratio. Also, less noisy: loading the compiled options module and resolving
 * this workspace's options in a fresh Node process (timed inside it), median of 5 x RUNS.
 * Run: BASELINE=/path/to/other/checkout node -r @swc-node/register tools/bench/show-projects.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { median, timeMs, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 7);
const CANDIDATE = join(__dirname, '../..');
const BASELINE = process.env.BASELINE;

function showProjects(root: string): number {
  rmSync(join(root, '.nx/workspace-data'), { recursive: true, force: true });
  return timeMs(() => {
    const r = spawnSync(join(root, 'node_modules/.bin/nx'), ['show', 'projects'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    });
    if (r.status !== 0) throw new Error(`nx show projects in ${root}: ${r.stderr}`);
  });
}

/** Milliseconds to require dist/plugin/options.js and resolve the options of the workspace's nx.json, timed in a new process. */
function loadOptions(root: string): number {
  const script = `const t = process.hrtime.bigint();
const { resolveOptions } = require(${JSON.stringify(join(root, 'packages/nx-nixos/dist/plugin/options.js'))});
const nx = require(${JSON.stringify(join(root, 'nx.json'))});
resolveOptions(nx.plugins.find((p) => p.plugin === '@rave/nx-nixos').options);
console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`loading the options of ${root}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

function main() {
  if (!BASELINE) throw new Error('Set BASELINE to the checkout to compare with (e.g. the main branch).');
  const loadBefore = loadavg()[0];
  showProjects(BASELINE);
  showProjects(CANDIDATE);
  const baseline: number[] = [];
  const candidate: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(showProjects(BASELINE));
    candidate.push(showProjects(CANDIDATE));
  }
  const baselineLoad: number[] = [];
  const candidateLoad: number[] = [];
  for (let i = 0; i < RUNS * 5; i++) {
    baselineLoad.push(loadOptions(BASELINE));
    candidateLoad.push(loadOptions(CANDIDATE));
  }
  writeResults('show-projects', {
    runs: RUNS,
    loadAverageBefore: loadBefore,
    baselineMedianMs: median(baseline),
    candidateMedianMs: median(candidate),
    ratio: median(candidate) / median(baseline),
    baselineMs: baseline,
    candidateMs: candidate,
    optionsLoad: {
      baselineMedianMs: median(baselineLoad),
      candidateMedianMs: median(candidateLoad),
      ratio: median(candidateLoad) / median(baselineLoad),
    },
  });
}

main();
