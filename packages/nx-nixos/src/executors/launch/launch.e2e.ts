import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVmFixture, FIXTURE_HTTP_PORT, fixtureFlakeFiles, fixtureVmProfile } from '../../../../../tools/fixtures/vm-fixture';
import { qemusUnder, waitForOutput } from '../../testing/processes';
import { processesWorkingIn, terminalSession, until } from '../../testing/terminal';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, profileJson, REPO_ROOT, testEnv, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HOST_PORT = 29080 + (process.pid % 500);

/** Polls the guest until it answers (Nx starts a dependent as soon as the continuous task has started). */
const SMOKE = `
const port = process.argv[2];
const deadline = Date.now() + 180000;
(async () => {
  for (;;) {
    try {
      const r = await fetch('http://127.0.0.1:' + port + '/', { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return console.log('smoke: guest says ' + (await r.text()).trim());
    } catch {}
    if (Date.now() > deadline) { console.error('smoke: no answer'); process.exit(1); }
    await new Promise((r) => setTimeout(r, 200));
  }
})();
`;

const state = (dir: string) => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));

async function waitUntilStopped(dir: string): Promise<void> {
  for (let i = 0; i < 300 && !state(dir).stoppedAt; i++) await new Promise((r) => setTimeout(r, 100));
}

describeIfTools(['nix', 'git', 'qemu-system-x86_64', 'qemu-img', 'apt-get', 'dpkg', 'cpio'])('launch, status and stop through real nx (TCG)', () => {
  let ws: TestWorkspace;
  let vmDir: string;

  beforeAll(() => {
    const fixture = ensureVmFixture((line) => console.log(line));
    ws = createTestWorkspace({
      files: {
        ...fixtureFlakeFiles(fixture),
        // A target that depends on the continuous launch and waits for the guest itself, as Nx expects.
        'profiles/fixture/project.json': JSON.stringify({
          targets: {
            launch: { options: { accel: 'tcg' } },
            smoke: { command: `node tools/smoke.js ${HOST_PORT}`, dependsOn: ['launch'] },
          },
        }),
        'tools/smoke.js': SMOKE,
        'profiles/fixture/profile.json': profileJson(
          fixtureVmProfile(fixture, 'fixture', HOST_PORT, {
            features: { extras: false },
            services: [
              { name: 'Web', port: 'http', scheme: 'http', path: '/' },
              { name: 'Extras', feature: 'extras', port: 'http', scheme: 'http', path: '/extras/' },
            ],
          }),
        ),
      },
    });
    vmDir = join(ws.root, 'artifacts/vms/fixture/default');
    const built = ws.nx(['run', 'fixture:build-image']);
    if (built.code !== 0) throw new Error(`build-image failed:\n${built.output}`);
  });
  afterAll(() => {
    ws?.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
    ws?.cleanup();
  });

  it('start (launch --detach) returns once ready with the enabled services only; status shows it; stop shuts it down', async () => {
    const launched = ws.nx(['run', 'fixture:start', '--accel', 'tcg']);
    expect(launched.code).toBe(0);
    expect(launched.output).toContain('fixture is ready (instance "default", TCG)');
    expect(launched.output).toContain(`Web  http://127.0.0.1:${HOST_PORT}/`);
    expect(launched.output).not.toContain('Extras');
    expect(launched.output).toContain('Stop it with: npx nx run fixture:stop');
    const page = await fetch(`http://127.0.0.1:${HOST_PORT}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('fixture guest is up\n');

    const status = ws.nx(['run', 'fixture:status']);
    expect(status.code).toBe(0);
    expect(status.output).toMatch(/fixture "default": running \(PID \d+, TCG, up (\d+[hm] )*\d+s\)/);
    expect(status.output).toContain(`http 127.0.0.1:${HOST_PORT}->${FIXTURE_HTTP_PORT}`);
    const json = ws.nx(['run', 'fixture:status', '--json']);
    expect(json.stdout).toContain('"status": "running"');

    const strict = ws.nx(['run', 'fixture:start', '--accel', 'tcg', '--strict-ports']);
    expect(strict.code).not.toBe(0);
    expect(strict.output).toContain(`Host port ${HOST_PORT} (http) is in use on 127.0.0.1`);
    const second = ws.nx(['run', 'fixture:start', '--accel', 'tcg']);
    expect(second.code).toBe(0);
    expect(second.output).toMatch(new RegExp(`Host port ${HOST_PORT} \\(http\\) is busy; using \\d+ instead`));
    expect(second.output).toContain('fixture is ready (instance "default-2", TCG)');
    expect(second.output).toContain('Stop it with: npx nx run fixture:stop --instance default-2');

    const stopped = ws.nx(['run', 'fixture:stop']);
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/fixture "default" stopped \(powerdown, [\d.]+ s\)/);
    expect(stopped.output).toMatch(/fixture "default-2" stopped \(powerdown, [\d.]+ s\)/);
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
    expect(readFileSync(join(vmDir, 'serial.log'), 'utf8')).toContain('fixture: serving http');
    expect(ws.nx(['run', 'fixture:status']).output).toContain('fixture "default": stopped');
  });

  it('SIGINT to a foreground nx run fixture:launch shuts the VM down gracefully', async () => {
    const child = ws.start(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['run', 'fixture:launch', '--accel', 'tcg']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForOutput(child, /Press Ctrl-C to shut it down/, 180_000);
    expect(qemusUnder(vmDir)).toHaveLength(1);
    // Nx silences its own output once interrupted, so the outcome is read from the instance folder.
    child.kill('SIGINT');
    await exited;
    // The launcher finishes the graceful shutdown even after Nx has exited.
    for (let i = 0; i < 100 && !JSON.parse(readFileSync(join(vmDir, 'state.json'), 'utf8')).stoppedAt; i++) await new Promise((r) => setTimeout(r, 100));
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
    expect(JSON.parse(readFileSync(join(vmDir, 'state.json'), 'utf8')).stoppedHow).toBe('powerdown');
    expect(readFileSync(join(vmDir, 'serial.log'), 'utf8')).toContain('fixture: power button, powering off');
  });

  it('launch is a continuous target: --detach on it names start; a target depending on it runs, then Nx ends it and the VM shuts down', async () => {
    const shown = JSON.parse(ws.nx(['show', 'project', 'fixture', '--json']).stdout);
    expect(shown.targets.launch.continuous).toBe(true);
    expect(shown.targets.start.continuous).toBeFalsy();
    expect(shown.targets.start.options.detach).toBe(true);

    const detached = ws.nx(['run', 'fixture:launch', '--detach']);
    expect(detached.code).not.toBe(0);
    expect(detached.output).toContain('--detach does not work on the continuous target fixture:launch');
    expect(detached.output).toContain('npx nx run fixture:start');
    expect(qemusUnder(vmDir)).toEqual([]);

    const smoke = ws.nx(['run', 'fixture:smoke']);
    expect(smoke.code).toBe(0);
    expect(smoke.output).toContain('smoke: guest says fixture guest is up');
    await waitUntilStopped(vmDir);
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(state(vmDir).stoppedHow).toBe('powerdown');
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
  });

  it('Ctrl-C while the VM is still booting shuts it down (no QEMU left behind)', async () => {
    // A terminal's Ctrl-C signals the whole foreground process group: nx and the launcher.
    const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['run', 'fixture:launch', '--accel', 'tcg', '--grace-seconds', '5'], {
      cwd: ws.root,
      env: testEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const output = await waitForOutput(child, /Started QEMU \(PID \d+/, 120_000);
    expect(output).not.toContain('is ready');
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    await waitUntilStopped(vmDir);
    expect(state(vmDir).readyAt).toBeUndefined();
    expect(state(vmDir).stoppedAt).toBeDefined();
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
  });

  it('closing the terminal of a foreground nx run fixture:launch shuts the VM down, as Ctrl-C does', async () => {
    // The first nx command on a terminal asks about analytics unless nx.json says.
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    ws.write('nx.json', JSON.stringify({ ...nxJson, analytics: false }, null, 2));
    const nx = join(REPO_ROOT, 'node_modules', '.bin', 'nx');
    const session = terminalSession(`${nx} run fixture:launch --accel tcg --grace-seconds 5`, { cwd: ws.root, env: testEnv() });
    try {
      await session.waitFor(/Press Ctrl-C to shut it down/, 180_000);
      expect(qemusUnder(vmDir)).toHaveLength(1);
      session.close();
      await waitUntilStopped(vmDir);
      expect(state(vmDir).stoppedHow).toBe('powerdown');
      expect(qemusUnder(vmDir)).toEqual([]);
      await until(() => processesWorkingIn(ws.root).length === 0, 30_000);
      expect(processesWorkingIn(ws.root)).toEqual([]);
    } finally {
      session.end();
    }
  });

  it('passes --secret to the guest; status reports a killed QEMU as broken and --clean removes its leftovers', async () => {
    const token = `token-${process.pid}-${Date.now()}`;
    ws.write('secrets/token.txt', token);
    const launched = ws.nx(['run', 'fixture:start', '--accel', 'tcg', '--secret', 'fixture-token=secrets/token.txt']);
    expect(launched.code).toBe(0);
    const served = await fetch(`http://127.0.0.1:${HOST_PORT}/credentials/fixture-token`);
    expect(await served.text()).toBe(token);
    expect(launched.output).not.toContain(token);
    expect(readFileSync(join(vmDir, 'state.json'), 'utf8')).not.toContain(token);
    const pid = Number(readFileSync(join(vmDir, 'qemu.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && qemusUnder(vmDir).length; i++) await new Promise((r) => setTimeout(r, 100));
    const status = ws.nx(['run', 'fixture:status']);
    expect(status.output).toContain(`fixture "default": broken: its pidfile names PID ${pid}, which is not running`);
    const cleaned = ws.nx(['run', 'fixture:status', '--clean']);
    expect(cleaned.output).toContain('Cleaned fixture "default"');
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(ws.nx(['run', 'fixture:status']).output).toContain('fixture "default": stopped');
  });
});
