/**
 * Builds that use the machine, measured on real nx and nix:
 * - six independent derivations of 3 s each, built by nixBuild as build-image does: the plugin's default
 *   (one job per CPU) against `max-jobs = 1` in NIX_CONFIG (Nix's own default);
 * - `nx run-many -t build-image` over three profiles of an evaluation-heavy fixture (each profile's
 *   evaluation imports the same 2,000 generated modules): `--batch` (one evaluation, one nix build) against
 *   the default (one nix build per task, Nx running three tasks at once), with the peak memory of the nix
 *   processes of each run (RSS summed over the run's process tree, sampled every 50 ms from /proc).
 * Every run builds fresh derivations (a new nonce, committed) so that neither Nix nor Nx has them cached.
 * Run: node -r @swc-node/register tools/bench/parallel-builds.ts [runs] [derivations]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { nixBuild } from '../../packages/nx-nixos/src/nix/build';
import { buildParallelism, describeParallelism } from '../../packages/nx-nixos/src/nix/parallelism';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, REPO_ROOT, testEnv, type TestWorkspace } from '../../packages/nx-nixos/src/testing/workspace';
import { median, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 3);
/** `derivations`: measure only the first part; the batch results are kept from the previous results file. */
const ONLY_DERIVATIONS = process.argv[3] === 'derivations';
const MODULES = 2000;
/** Elements each generated module sums: sets how long the shared expression set takes to evaluate. */
const WORK_PER_MODULE = 4000;

interface Sample {
  ms: number;
  /** Peak RSS of the nix processes of the run, summed, in MiB. */
  nixPeakMiB: number;
  /** Peak RSS of the whole process tree (nx, its workers, nix), summed, in MiB. */
  treePeakMiB: number;
}

/** RSS in KiB and parent of every process, from /proc. */
function processTable(): Map<number, { ppid: number; comm: string; rssKiB: number }> {
  const table = new Map<number, { ppid: number; comm: string; rssKiB: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      table.set(Number(entry), { ppid: Number(fields[1]), comm, rssKiB: rss ? Number(rss[1]) : 0 });
    } catch {
      // The process ended while it was read.
    }
  }
  return table;
}

/** Runs nx in the workspace, sampling the memory of its process tree; fails loudly when nx fails. */
function runNx(ws: TestWorkspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(join(REPO_ROOT, 'node_modules/.bin/nx'), args, { cwd: ws.root, env: testEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    let nixPeak = 0;
    let treePeak = 0;
    const sample = () => {
      const table = processTable();
      const tree = new Set([child.pid!]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, p] of table) {
          if (tree.has(pid) || !tree.has(p.ppid)) continue;
          tree.add(pid);
          grew = true;
        }
      }
      let nix = 0;
      let all = 0;
      for (const pid of tree) {
        const p = table.get(pid);
        if (!p) continue;
        all += p.rssKiB;
        if (p.comm === 'nix') nix += p.rssKiB;
      }
      nixPeak = Math.max(nixPeak, nix);
      treePeak = Math.max(treePeak, all);
    };
    const timer = setInterval(sample, 50);
    child.on('close', (code) => {
      clearInterval(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`nx ${args.join(' ')} exited with ${code}:\n${output.slice(-3000)}`));
      resolve({ ms, nixPeakMiB: Math.round(nixPeak / 1024), treePeakMiB: Math.round(treePeak / 1024) });
    });
  });
}

const nonce = () => `true ${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}; `;
const STEPS = ['step1', 'step2', 'step3', 'step4', 'step5', 'step6'];

function sixStepFlake(): string {
  const n = nonce();
  return hermeticFlake({
    packages: {
      ...Object.fromEntries(STEPS.map((s) => [s, `${n}$bb sleep 3; echo ${s} > $out; echo done`])),
      wide: `$bb mkdir $out; ${STEPS.map((s) => `$bb cat \${pkgs.${s}} >> $out/nixos.qcow2`).join('; ')}`,
    },
  });
}

const HEAVY_PROFILES = ['alpha', 'beta', 'gamma'];

/** Each profile's image records a value computed from the shared expression set, so evaluating it forces the whole set. */
function heavyFlake(): string {
  const n = nonce();
  return hermeticFlake({
    packages: Object.fromEntries(HEAVY_PROFILES.map((p) => [p, `${n}$bb mkdir $out; echo ${p} \${toString (import ./heavy).total} > $out/nixos.qcow2`])),
  });
}

function heavyFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < MODULES; i++) files[`heavy/m${i}.nix`] = `{ n${i} = builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x * ${i + 1}) ${WORK_PER_MODULE}); }\n`;
  files['heavy/default.nix'] =
    `let\n  mods = map (i: import (./. + "/m\${toString i}.nix")) (builtins.genList (i: i) ${MODULES});\n` +
    `  all = builtins.foldl' (acc: m: acc // m) { } mods;\nin { total = builtins.foldl' (a: k: a + all.\${k}) 0 (builtins.attrNames all); }\n`;
  return files;
}

/** One `nix build` of the six-step image through nixBuild (what build-image runs), with fresh derivations. */
async function buildSixSteps(ws: TestWorkspace, serial: boolean): Promise<{ ms: number; maxConcurrent: number }> {
  ws.write('flake.nix', sixStepFlake());
  ws.commit();
  // Serial: a user's NIX_CONFIG that sets max-jobs = 1, which is Nix's own default; the plugin leaves it alone.
  const saved = process.env.NIX_CONFIG;
  process.env.NIX_CONFIG = serial ? 'max-jobs = 1' : '';
  try {
    const started = process.hrtime.bigint();
    await nixBuild({ cwd: ws.root, installable: '.#packages.x86_64-linux.wide', offline: true, logFile: join(ws.root, 'build.log') });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms: Math.round(ms), maxConcurrent: concurrentFromLog(readFileSync(join(ws.root, 'build.log'), 'utf8')) };
  } finally {
    if (saved === undefined) delete process.env.NIX_CONFIG;
    else process.env.NIX_CONFIG = saved;
  }
}

/** The most builds running at once, from the "building ..." lines and the log lines of the steps' ends. */
function concurrentFromLog(log: string): number {
  let running = 0;
  let max = 0;
  for (const line of log.split('\n')) {
    if (/^building \/nix\/store\/\S+-step\d\.drv/.test(line)) max = Math.max(max, ++running);
    else if (/^step\d> done$/.test(line)) running--;
  }
  return max;
}

async function parallelDerivations() {
  const loadBefore = loadavg()[0];
  const ws = createTestWorkspace({ files: { 'flake.nix': sixStepFlake(), 'profiles/wide/profile.json': profileJson(fixtureProfile('wide')) } });
  const serial: { ms: number; maxConcurrent: number }[] = [];
  const parallel: { ms: number; maxConcurrent: number }[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const mode of run % 2 ? (['parallel', 'serial'] as const) : (['serial', 'parallel'] as const)) {
        (mode === 'serial' ? serial : parallel).push(await buildSixSteps(ws, mode === 'serial'));
      }
    }
  } finally {
    ws.cleanup();
  }
  const ms = (samples: { ms: number }[]) => median(samples.map((s) => s.ms));
  return {
    what: 'nix build of the wide image through nixBuild (as build-image runs it): six independent derivations of 3 s (sleep) and the image that joins them',
    serial,
    parallel,
    parallelism: describeParallelism(buildParallelism()),
    medianSerialMs: ms(serial),
    medianParallelMs: ms(parallel),
    ratio: Number((ms(parallel) / ms(serial)).toFixed(3)),
    target: '<= 0.6',
    loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
  };
}

async function batchOfProfiles() {
  const loadBefore = loadavg()[0];
  const ws = createTestWorkspace({
    files: { 'flake.nix': heavyFlake(), ...heavyFiles(), ...Object.fromEntries(HEAVY_PROFILES.map((p) => [`profiles/${p}/profile.json`, profileJson(fixtureProfile(p))])) },
  });
  const separate: Sample[] = [];
  const batch: Sample[] = [];
  const evalAlone: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      // One profile's evaluation alone: the cost every separate nix build pays.
      ws.write('flake.nix', heavyFlake());
      ws.commit();
      const started = process.hrtime.bigint();
      const evaluated = ws.run('nix', ['--extra-experimental-features', 'nix-command flakes', 'eval', '--raw', '.#packages.x86_64-linux.alpha.drvPath']);
      if (evaluated.code !== 0) throw new Error(`nix eval failed: ${evaluated.output}`);
      evalAlone.push(Math.round(Number(process.hrtime.bigint() - started) / 1e6));
      for (const mode of run % 2 ? (['batch', 'separate'] as const) : (['separate', 'batch'] as const)) {
        ws.write('flake.nix', heavyFlake());
        ws.commit();
        const args = ['run-many', '-t', 'build-image', '--skip-nx-cache', ...(mode === 'batch' ? ['--batch'] : [])];
        (mode === 'batch' ? batch : separate).push(await runNx(ws, args));
      }
    }
  } finally {
    ws.cleanup();
  }
  const med = (samples: Sample[], key: keyof Sample) => median(samples.map((s) => s[key]));
  return {
    what: `nx run-many -t build-image over ${HEAVY_PROFILES.length} profiles, each importing the same ${MODULES} generated modules`,
    evaluationAloneMs: evalAlone,
    medianEvaluationAloneMs: median(evalAlone),
    separate,
    batch,
    medianSeparateMs: med(separate, 'ms'),
    medianBatchMs: med(batch, 'ms'),
    ratio: Number((med(batch, 'ms') / med(separate, 'ms')).toFixed(3)),
    target: '<= 0.6',
    medianPeakNixMiB: { separate: med(separate, 'nixPeakMiB'), batch: med(batch, 'nixPeakMiB') },
    medianPeakTreeMiB: { separate: med(separate, 'treePeakMiB'), batch: med(batch, 'treePeakMiB') },
    loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
  };
}

async function main() {
  const derivations = await parallelDerivations();
  const previous = join(__dirname, 'results', 'parallel-builds.json');
  const profiles = ONLY_DERIVATIONS ? (JSON.parse(readFileSync(previous, 'utf8')) as { batchOfProfiles: unknown }).batchOfProfiles : await batchOfProfiles();
  writeResults('parallel-builds', {
    runs: RUNS,
    sixDerivations: derivations,
    batchOfProfiles: profiles,
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
