/**
 * `nx show projects` (graph inference runs the plugin, which loads and checks its options) in this
 * workspace against a baseline checkout, alternating, daemon off, Nx's graph cache cleared each time:
 * median of RUNS for each and their ratio.
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
  writeResults('show-projects', {
    runs: RUNS,
    loadAverageBefore: loadBefore,
    baselineMedianMs: median(baseline),
    candidateMedianMs: median(candidate),
    ratio: median(candidate) / median(baseline),
    baselineMs: baseline,
    candidateMs: candidate,
  });
}

main();
