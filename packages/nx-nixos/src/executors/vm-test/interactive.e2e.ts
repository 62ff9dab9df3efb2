import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { interactiveDriverFiles } from '../../../../../tools/fixtures/interactive-driver';
import { kvmStatus } from '../../host/kvm';
import { processesWhere } from '../../testing/processes';
import { terminalSession, type TerminalSession } from '../../testing/terminal';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, fixtureProfile, profileJson, REPO_ROOT, testEnv, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const NX = join(REPO_ROOT, 'node_modules', '.bin', 'nx');
const WAIT_MS = 120_000;

const cwdOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
};

describeIfTools(['nix', 'git', 'script'])('vm-test-interactive: the test driver on a terminal through real nx', () => {
  let ws: TestWorkspace;
  const sessions: TerminalSession[] = [];
  const session = (args: string, env: NodeJS.ProcessEnv = {}, size?: { columns: number; rows: number }) => {
    const s = terminalSession(`${NX} ${args}`, { cwd: ws.root, env: testEnv(env), size });
    sessions.push(s);
    return s;
  };
  /** Live processes of the fixture driver: its program runs from the store, in the workspace's driver folder. */
  const drivers = () => processesWhere((cmdline, pid) => cmdline.includes('nixos-test-driver') && cwdOf(pid).startsWith(`${ws.root}/`));

  beforeAll(() => {
    ws = createTestWorkspace({
      files: {
        ...interactiveDriverFiles(`true ${process.pid}-${Date.now()}; `),
        'profiles/fixture/profile.json': profileJson(fixtureProfile('fixture', { tests: ['smoke'] })),
        'profiles/plain/profile.json': profileJson(fixtureProfile('plain', { tests: ['plain'] })),
        'profiles/two/profile.json': profileJson(fixtureProfile('two', { tests: ['plain', 'no-program'] })),
        'profiles/ghost/profile.json': profileJson(fixtureProfile('ghost', { tests: ['missing'] })),
      },
    });
    // The first interactive nx command asks about analytics unless nx.json says.
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    ws.write('nx.json', JSON.stringify({ ...nxJson, analytics: false }, null, 2));
  });
  afterAll(() => {
    for (const s of sessions) s.end();
    ws?.cleanup();
  });

  it('infers an uncached, non-parallel vm-test-interactive target beside vm-test', () => {
    const shown = ws.nx(['show', 'project', 'fixture', '--json']);
    expect(shown.code).toBe(0);
    const targets = JSON.parse(shown.stdout).targets;
    expect(targets['vm-test'].cache).toBe(true);
    expect(targets['vm-test-interactive']).toMatchObject({ executor: '@rave/nx-nixos:vm-test', cache: false, parallelism: false, options: { interactive: true } });
  });

  it('runs the driver attached to the plain terminal (NX_TUI=false): hints, typed commands answered, Ctrl-D leaves with 0, nothing left running', async () => {
    const s = session('run fixture:vm-test-interactive', { NX_TUI: 'false' });
    try {
      await s.waitFor('>>> ', WAIT_MS);
      const before = s.output();
      for (const hint of ['start_all()', 'machine.shell_interact()', 'test_script()', 'Ctrl-D']) expect(before).toContain(hint);
      expect(before).toContain('working folder artifacts/drivers/fixture/smoke/work');
      const kvm = kvmStatus();
      if (kvm.usable) expect(before).not.toContain('Without KVM');
      else expect(before).toContain(`Without KVM (${kvm.reason}) the machines run under TCG software emulation`);

      let mark = s.output().length;
      s.type('start_all()\n');
      await s.waitFor('machine: starting vm (fixture driver)', WAIT_MS, mark);
      mark = s.output().length;
      s.type('machine.succeed("echo driver-$((40 + 2))")\n');
      await s.waitFor(/^driver-42$/m, WAIT_MS, mark);
      mark = s.output().length;
      s.type('tty()\n');
      await s.waitFor(/\/dev\/pts\/\d+/, WAIT_MS, mark);
      expect(drivers().length).toBeGreaterThan(0);
      mark = s.output().length;
      s.type('\u0004');
      await s.waitFor('machines stopped', WAIT_MS, mark);
      expect(await s.exited).toBe(0);
      expect(drivers()).toEqual([]);
    } finally {
      s.end();
    }
  });

  it("runs the driver in the pane of Nx's terminal UI (NX_TUI=true on a 160x40 terminal): i to type, Ctrl-D ends it, q quits with 0", async () => {
    // The UI draws with cursor moves: compare without whitespace.
    const s = session('run fixture:vm-test-interactive', { NX_TUI: 'true' }, { columns: 160, rows: 40 });
    const screen = () => s.output().replace(/\s+/g, '');
    try {
      await s.waitFor('>>>', WAIT_MS);
      await s.waitFor('NON-INTERACTIVE', WAIT_MS);
      expect(screen()).toContain("InNx'sterminalUI:pressitotypeintothedriver;");
      s.type('i');
      await s.waitFor('INTERACTIVE <ctrl>+z', WAIT_MS, s.output().lastIndexOf('NON-INTERACTIVE') + 1);
      let mark = s.output().length;
      s.type('machine.succeed("echo tui-$((40 + 2))")\r');
      await s.waitFor('tui-42', WAIT_MS, mark);
      expect(drivers().length).toBeGreaterThan(0);
      mark = s.output().length;
      s.type('\u0004');
      await s.waitFor(/machines\s*stopped/, WAIT_MS, mark);
      await s.waitFor('Completed 1 vm-test-interactive', WAIT_MS, mark);
      s.type('q');
      expect(await s.exited).toBe(0);
      expect(drivers()).toEqual([]);
    } finally {
      s.end();
    }
  });

  it('passes the driver\'s exit status on as failure', async () => {
    const s = session('run fixture:vm-test-interactive');
    try {
      await s.waitFor('>>> ', WAIT_MS);
      s.type('exit(3)\n');
      expect(await s.exited).not.toBe(0);
      expect(s.output()).toContain('smoke: the test driver exited with status 3.');
    } finally {
      s.end();
    }
  });

  it('refuses --interactive on the cached vm-test target, every time (the refusal is not cached); never batched', () => {
    for (let i = 0; i < 2; i++) {
      const run = ws.nx(['run', 'fixture:vm-test', '--interactive']);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('--interactive runs a terminal session, which Nx must not cache, and fixture:vm-test is a cached target. Run: npx nx run fixture:vm-test-interactive');
      expect(run.output).not.toMatch(/local cache|from the cache/);
    }
    // Nx keeps a target with parallelism: false out of batches: each task runs alone through the executor.
    const batch = ws.nx(['run-many', '-t', 'vm-test-interactive', '-p', 'fixture,plain', '--batch']);
    expect(batch.code).not.toBe(0);
    expect(batch.output).not.toContain('in one nix build');
    expect(batch.output).toContain('fixture test driver: machines stopped');
    expect(batch.output).toContain('checks.x86_64-linux.plain has no driverInteractive attribute');
  });

  it('says precisely when a check is missing, has no driverInteractive or no driver program, or which test to choose', () => {
    const plain = ws.nx(['run', 'plain:vm-test-interactive']);
    expect(plain.code).not.toBe(0);
    expect(plain.output).toContain('checks.x86_64-linux.plain has no driverInteractive attribute, so it cannot run interactively.');

    const ghost = ws.nx(['run', 'ghost:vm-test-interactive']);
    expect(ghost.code).not.toBe(0);
    expect(ghost.output).toContain('The flake . has no checks.x86_64-linux.missing: the test is declared but the flake does not define it.');

    const two = ws.nx(['run', 'two:vm-test-interactive']);
    expect(two.code).not.toBe(0);
    expect(two.output).toContain('two has 2 VM tests (plain, no-program); choose one with --test NAME.');

    const noProgram = ws.nx(['run', 'two:vm-test-interactive', '--test', 'no-program']);
    expect(noProgram.code).not.toBe(0);
    expect(noProgram.output).toMatch(/checks\.x86_64-linux\.no-program\.driverInteractive \(\/nix\/store\/[a-z0-9]{32}-not-a-driver\) has no bin\/nixos-test-driver; its bin\/ holds: other\./);

    const unknown = ws.nx(['run', 'fixture:vm-test-interactive', '--test', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain('--test nope: not a test of fixture; its tests: smoke.');
  });
});
