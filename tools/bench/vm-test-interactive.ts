/**
 * Time from the command to the interactive test driver's first prompt: `nx run fixture:vm-test-interactive`
 * (Nx start-up, the driverInteractive check with `nix eval`, a no-op `nix build`, the hints) against the same
 * built driver run by hand, both on a pseudo-terminal (script(1)) and left with Ctrl-D, alternated in one
 * process. The driver is the fixture's busybox REPL (tools/fixtures/interactive-driver.ts), so what remains
 * is the overhead of going through Nx, not the cost of booting machines. A third series runs the target with
 * the Nx daemon, which keeps the project graph between commands (the other series run without it).
 * Run: node -r @swc-node/register tools/bench/vm-test-interactive.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { terminalSession } from '../../packages/nx-nixos/src/testing/terminal';
import { createTestWorkspace, fixtureProfile, profileJson, REPO_ROOT, testEnv } from '../../packages/nx-nixos/src/testing/workspace';
import { interactiveDriverFiles } from '../fixtures/interactive-driver';
import { median, timeMsAsync, writeResults } from './lib';

const RUNS = Number(process.argv[2] ?? 7);
const ws = createTestWorkspace({
  files: {
    ...interactiveDriverFiles(),
    'nx.json': JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options: {} }], analytics: false }, null, 2),
    'profiles/fixture/profile.json': profileJson(fixtureProfile('fixture', { tests: ['smoke'] })),
  },
});
const nx = join(REPO_ROOT, 'node_modules', '.bin', 'nx');

/** Starts `commandLine` on a terminal, waits for the first `>>> `, leaves with Ctrl-D; the time to the prompt. */
async function toFirstPrompt(commandLine: string, env: NodeJS.ProcessEnv): Promise<number> {
  const session = terminalSession(commandLine, { cwd: ws.root, env });
  try {
    const ms = await timeMsAsync(() => session.waitFor('>>> ', 120_000));
    session.type('\u0004');
    const code = await session.exited;
    if (code !== 0) throw new Error(`${commandLine} exited with ${code}:\n${session.output()}`);
    return ms;
  } finally {
    session.end();
  }
}

async function main() {
  const env = testEnv({ NX_TUI: 'false' });
  const viaNxCommand = `${nx} run fixture:vm-test-interactive`;
  // The first run builds the driver; its out-link then names the program to run by hand.
  await toFirstPrompt(viaNxCommand, env);
  const byHandCommand = `cd ${join(ws.root, 'artifacts/drivers/fixture/smoke/work')} && exec ../result/bin/nixos-test-driver`;
  await toFirstPrompt(byHandCommand, env);
  const daemonEnv = { ...env, NX_DAEMON: 'true' };
  await toFirstPrompt(viaNxCommand, daemonEnv);
  const viaNx: number[] = [];
  const byHand: number[] = [];
  const viaDaemon: number[] = [];
  const loadBefore = loadavg()[0];
  for (let i = 0; i < RUNS; i++) {
    byHand.push(await toFirstPrompt(byHandCommand, env));
    viaNx.push(await toFirstPrompt(viaNxCommand, env));
    viaDaemon.push(await toFirstPrompt(viaNxCommand, daemonEnv));
  }
  spawnSync(nx, ['daemon', '--stop'], { cwd: ws.root, env: daemonEnv, stdio: 'ignore' });
  const round = (v: number) => Math.round(v);
  const series = (values: number[]) => ({ median: round(median(values)), samples: values.map(round) });
  writeResults('vm-test-interactive', {
    runs: RUNS,
    loadAverageBefore: loadBefore,
    driver: 'fixture driverInteractive: a busybox sh REPL (no machines booted)',
    byHandMs: series(byHand),
    viaNxMs: series(viaNx),
    viaNxWithDaemonMs: series(viaDaemon),
    overheadMs: round(median(viaNx) - median(byHand)),
    overheadWithDaemonMs: round(median(viaDaemon) - median(byHand)),
  });
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => ws.cleanup());
