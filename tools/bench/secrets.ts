/**
 * The secrets target on an instance where nothing changed against one `nx run fixture:ssh -- true`, on
 * the same running fixture VM (TCG, dropbear and the fixture's nx-nixos-reload-credentials in the guest),
 * alternated in one process. Three more series say where the time goes: the plain ssh command `--print`
 * gives (the connection alone), `nx run fixture:ssh --print` (Nx, the executor's process and the
 * instance lookup, no connection) and `nx run fixture:noop` (an nx:noop target of the same project: Nx's
 * start-up and project graph, no executor process). All without the Nx daemon, as the tests run.
 * Run: node -r @swc-node/register tools/bench/secrets.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestWorkspace, REPO_ROOT, testEnv } from '../../packages/nx-nixos/src/testing/workspace';
import { ensureVmFixture, fixtureSshWorkspaceFiles } from '../fixtures/vm-fixture';
import { median, nxOrThrow, timeMs, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 7);
const HTTP_PORT = 31280;
const SSH_PORT = 31222;

const fixture = ensureVmFixture((line) => console.error(line));
const ws = createTestWorkspace({
  files: fixtureSshWorkspaceFiles(fixture, HTTP_PORT, SSH_PORT, { targets: { noop: { executor: 'nx:noop' } } }),
});
const secretsDir = mkdtempSync(join(tmpdir(), 'nx-nixos-bench-secrets-'));
const token = join(secretsDir, 'token.txt');
writeFileSync(token, 'a benchmark token, never printed\n', { mode: 0o600 });

const mustRun = (args: string[]) => nxOrThrow(ws, args);

try {
  mustRun(['run', 'fixture:build-image']);
  mustRun(['run', 'fixture:start', '--accel', 'tcg', '--secret', `fixture-token=${token}`]);
  const secretsArgs = ['run', 'fixture:secrets', '--secret', `fixture-token=${token}`];
  // The measured case: the guest already has this token, so nothing changes and nothing restarts.
  const unchanged = mustRun(secretsArgs);
  if (!unchanged.includes('unchanged; nothing restarted')) throw new Error(`expected an unchanged report:\n${unchanged}`);
  const plain = mustRun(['run', 'fixture:ssh', '--', '--print', '--', 'true'])
    .split('\n')
    .find((l) => l.startsWith('ssh '))!;
  const nx = join(REPO_ROOT, 'node_modules', '.bin', 'nx');
  const env = testEnv();
  const check = (what: string, status: number | null) => {
    if (status !== 0) throw new Error(`${what} exited with ${status}`);
  };
  const runNx = (what: string, args: string[]) => check(what, spawnSync(nx, args, { cwd: ws.root, env, stdio: 'ignore' }).status);
  // One of each first, so that first-run costs are not measured.
  runNx('warm-up ssh', ['run', 'fixture:ssh', '--', 'true']);
  runNx('warm-up noop', ['run', 'fixture:noop']);
  const secrets: number[] = [];
  const ssh: number[] = [];
  const noop: number[] = [];
  const printOnly: number[] = [];
  const direct: number[] = [];
  const loadBefore = loadavg()[0];
  for (let i = 0; i < RUNS; i++) {
    secrets.push(timeMs(() => runNx('nx secrets', secretsArgs)));
    ssh.push(timeMs(() => runNx('nx ssh', ['run', 'fixture:ssh', '--', 'true'])));
    noop.push(timeMs(() => runNx('nx noop', ['run', 'fixture:noop'])));
    printOnly.push(timeMs(() => runNx('nx ssh --print', ['run', 'fixture:ssh', '--print'])));
    direct.push(timeMs(() => check('plain ssh', spawnSync('sh', ['-c', plain], { cwd: ws.root, stdio: 'ignore' }).status)));
  }
  const round = (v: number) => Math.round(v);
  const series = (values: number[]) => ({ median: round(median(values)), samples: values.map(round) });
  writeResults('secrets', {
    runs: RUNS,
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadavg()[0],
    guest: 'fixture VM under TCG: Debian cloud kernel, busybox initramfs, dropbear',
    nxSecretsUnchangedMs: series(secrets),
    nxSshTrueMs: series(ssh),
    nxNoopMs: series(noop),
    nxSshPrintOnlyMs: series(printOnly),
    plainSshTrueMs: series(direct),
    ratioSecretsToSsh: Number((median(secrets) / median(ssh)).toFixed(2)),
    secretsOverSshMs: round(median(secrets) - median(ssh)),
    sshOverNoopMs: round(median(ssh) - median(noop)),
    sshOverPrintOnlyMs: round(median(ssh) - median(printOnly)),
    nxStartupShareOfSsh: Number((median(noop) / median(ssh)).toFixed(2)),
    target: 'secrets with nothing changed: at most 2x one nx run <profile>:ssh -- true',
  });
} finally {
  ws.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
  ws.cleanup();
  rmSync(secretsDir, { recursive: true, force: true });
}
