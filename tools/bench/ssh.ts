/**
 * The ssh target against the plain ssh command it prints, on the same running fixture VM (TCG, dropbear in
 * the guest), alternated: `nx run fixture:ssh -- true` and the `ssh ... -- true` line of `--print`. The
 * difference is Nx's start-up plus the instance lookup. Two more series split it up: `--print` (Nx and the
 * lookup, no connection) and the same `ssh -- true` with the Nx daemon, which keeps the project graph
 * between commands (the tests and the other series run without it).
 * Run: node -r @swc-node/register tools/bench/ssh.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createTestWorkspace, REPO_ROOT, testEnv } from '../../packages/nx-nixos/src/testing/workspace';
import { ensureVmFixture, fixtureSshWorkspaceFiles } from '../fixtures/vm-fixture';
import { loadavg } from 'node:os';
import { median, nxOrThrow, timeMs, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 7);
const HTTP_PORT = 31180;
const SSH_PORT = 31122;

const fixture = ensureVmFixture((line) => console.error(line));
const ws = createTestWorkspace({
  files: fixtureSshWorkspaceFiles(fixture, HTTP_PORT, SSH_PORT),
});

const mustRun = (args: string[]) => nxOrThrow(ws, args);

try {
  mustRun(['run', 'fixture:build-image']);
  mustRun(['run', 'fixture:start', '--accel', 'tcg']);
  const plain = mustRun(['run', 'fixture:ssh', '--', '--print', '--', 'true'])
    .split('\n')
    .find((l) => l.startsWith('ssh '))!;
  const nx = join(REPO_ROOT, 'node_modules', '.bin', 'nx');
  const env = testEnv();
  const check = (what: string, status: number | null) => {
    if (status !== 0) throw new Error(`${what} exited with ${status}`);
  };
  // One of each first, so that the guest's and Nx's first-run costs are not measured.
  check('warm-up nx', spawnSync(nx, ['run', 'fixture:ssh', '--', 'true'], { cwd: ws.root, env, stdio: 'ignore' }).status);
  check('warm-up ssh', spawnSync('sh', ['-c', plain], { cwd: ws.root, stdio: 'ignore' }).status);
  const daemonEnv = { ...env, NX_DAEMON: 'true' };
  check('warm-up nx with daemon', spawnSync(nx, ['run', 'fixture:ssh', '--', 'true'], { cwd: ws.root, env: daemonEnv, stdio: 'ignore' }).status);
  const viaNx: number[] = [];
  const direct: number[] = [];
  const printOnly: number[] = [];
  const viaDaemon: number[] = [];
  const loadBefore = loadavg()[0];
  for (let i = 0; i < RUNS; i++) {
    direct.push(timeMs(() => check('plain ssh', spawnSync('sh', ['-c', plain], { cwd: ws.root, stdio: 'ignore' }).status)));
    viaNx.push(timeMs(() => check('nx ssh', spawnSync(nx, ['run', 'fixture:ssh', '--', 'true'], { cwd: ws.root, env, stdio: 'ignore' }).status)));
    printOnly.push(timeMs(() => check('nx ssh --print', spawnSync(nx, ['run', 'fixture:ssh', '--print'], { cwd: ws.root, env, stdio: 'ignore' }).status)));
    viaDaemon.push(timeMs(() => check('nx ssh with daemon', spawnSync(nx, ['run', 'fixture:ssh', '--', 'true'], { cwd: ws.root, env: daemonEnv, stdio: 'ignore' }).status)));
  }
  spawnSync(nx, ['daemon', '--stop'], { cwd: ws.root, env: daemonEnv, stdio: 'ignore' });
  const round = (v: number) => Math.round(v);
  const series = (values: number[]) => ({ median: round(median(values)), samples: values.map(round) });
  writeResults('ssh', {
    runs: RUNS,
    loadAverageBefore: loadBefore,
    guest: 'fixture VM under TCG: Debian cloud kernel, busybox initramfs, dropbear',
    plainSshMs: series(direct),
    nxSshMs: series(viaNx),
    nxSshPrintOnlyMs: series(printOnly),
    nxSshWithDaemonMs: series(viaDaemon),
    overheadMs: round(median(viaNx) - median(direct)),
    overheadWithDaemonMs: round(median(viaDaemon) - median(direct)),
    ratio: Number((median(viaNx) / median(direct)).toFixed(2)),
    target: 'at most 400 ms over the plain ssh command',
  });
} finally {
  ws.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
  ws.cleanup();
}
