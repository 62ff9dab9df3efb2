import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVmFixture, FIXTURE_HTTP_PORT } from '../../../../../tools/fixtures/vm-fixture';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, REPO_ROOT, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HOST_PORT = 29080 + (process.pid % 500);

function ourQemus(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmdline.startsWith('qemu-system') && cmdline.includes(dir);
      } catch {
        return false;
      }
    });
}

function waitForOutput(child: ReturnType<TestWorkspace['start']>, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!pattern.test(output)) reject(new Error(`exited (${code}) before ${pattern}:\n${output}`));
    });
  });
}

describeIfTools(['nix', 'git', 'qemu-system-x86_64', 'qemu-img', 'apt-get', 'dpkg', 'cpio'])('launch, status and stop through real nx (TCG)', () => {
  let ws: TestWorkspace;
  let vmDir: string;

  beforeAll(() => {
    const fixture = ensureVmFixture((line) => console.log(line));
    ws = createTestWorkspace({
      files: {
        'flake.nix': hermeticFlake({
          packages: { fixture: '$bb mkdir $out; $bb cp ${./vm/vmlinuz} $out/vmlinuz; $bb cp ${./vm/initrd.cpio} $out/initrd.cpio' },
        }),
        'vm/vmlinuz': readFileSync(fixture.kernel),
        'vm/initrd.cpio': readFileSync(fixture.initrd),
        'profiles/fixture/profile.json': profileJson(
          fixtureProfile('fixture', {
            image: { kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.cpio', cmdline: fixture.cmdline },
            features: { extras: false },
            ports: [{ name: 'http', guest: FIXTURE_HTTP_PORT, host: HOST_PORT }],
            services: [
              { name: 'Web', port: 'http', scheme: 'http', path: '/' },
              { name: 'Extras', feature: 'extras', port: 'http', scheme: 'http', path: '/extras/' },
            ],
            readiness: { port: 'http', probe: 'http', path: '/', timeoutSeconds: 120 },
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

  it('launch --detach returns once ready with the enabled services only; status shows it; stop shuts it down', async () => {
    const launched = ws.nx(['run', 'fixture:launch', '--detach', '--accel', 'tcg']);
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
    expect(status.output).toMatch(/fixture "default": running \(PID \d+, TCG, up \d+s\)/);
    expect(status.output).toContain(`http 127.0.0.1:${HOST_PORT}->${FIXTURE_HTTP_PORT}`);
    const json = ws.nx(['run', 'fixture:status', '--json']);
    expect(json.stdout).toContain('"status": "running"');

    const strict = ws.nx(['run', 'fixture:launch', '--detach', '--accel', 'tcg', '--strict-ports']);
    expect(strict.code).not.toBe(0);
    expect(strict.output).toContain(`Host port ${HOST_PORT} (http) is in use on 127.0.0.1`);
    const second = ws.nx(['run', 'fixture:launch', '--detach', '--accel', 'tcg']);
    expect(second.code).toBe(0);
    expect(second.output).toMatch(new RegExp(`Host port ${HOST_PORT} \\(http\\) is busy; using \\d+ instead`));
    expect(second.output).toContain('fixture is ready (instance "default-2", TCG)');
    expect(second.output).toContain('Stop it with: npx nx run fixture:stop --instance default-2');

    const stopped = ws.nx(['run', 'fixture:stop']);
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/fixture "default" stopped \(powerdown, [\d.]+ s\)/);
    expect(stopped.output).toMatch(/fixture "default-2" stopped \(powerdown, [\d.]+ s\)/);
    expect(ourQemus(vmDir)).toEqual([]);
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
    expect(readFileSync(join(vmDir, 'serial.log'), 'utf8')).toContain('fixture: serving http');
    expect(ws.nx(['run', 'fixture:status']).output).toContain('fixture "default": stopped');
  });

  it('SIGINT to a foreground nx run fixture:launch shuts the VM down gracefully', async () => {
    const child = ws.start(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['run', 'fixture:launch', '--accel', 'tcg']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForOutput(child, /Press Ctrl-C to shut it down/, 180_000);
    expect(ourQemus(vmDir)).toHaveLength(1);
    // Nx silences its own output once interrupted, so the outcome is read from the instance folder.
    child.kill('SIGINT');
    await exited;
    // The launcher finishes the graceful shutdown even after Nx has exited.
    for (let i = 0; i < 100 && !JSON.parse(readFileSync(join(vmDir, 'state.json'), 'utf8')).stoppedAt; i++) await new Promise((r) => setTimeout(r, 100));
    expect(ourQemus(vmDir)).toEqual([]);
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
    expect(JSON.parse(readFileSync(join(vmDir, 'state.json'), 'utf8')).stoppedHow).toBe('powerdown');
    expect(readFileSync(join(vmDir, 'serial.log'), 'utf8')).toContain('fixture: power button, powering off');
  });

  it('passes --secret to the guest; status reports a killed QEMU as broken and --clean removes its leftovers', async () => {
    const token = `token-${process.pid}-${Date.now()}`;
    ws.write('secrets/token.txt', token);
    const launched = ws.nx(['run', 'fixture:launch', '--detach', '--accel', 'tcg', '--secret', 'fixture-token=secrets/token.txt']);
    expect(launched.code).toBe(0);
    const served = await fetch(`http://127.0.0.1:${HOST_PORT}/credentials/fixture-token`);
    expect(await served.text()).toBe(token);
    expect(launched.output).not.toContain(token);
    expect(readFileSync(join(vmDir, 'state.json'), 'utf8')).not.toContain(token);
    const pid = Number(readFileSync(join(vmDir, 'qemu.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && ourQemus(vmDir).length; i++) await new Promise((r) => setTimeout(r, 100));
    const status = ws.nx(['run', 'fixture:status']);
    expect(status.output).toContain(`fixture "default": broken: its pidfile names PID ${pid}, which is not running`);
    const cleaned = ws.nx(['run', 'fixture:status', '--clean']);
    expect(cleaned.output).toContain('Cleaned fixture "default"');
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(ws.nx(['run', 'fixture:status']).output).toContain('fixture "default": stopped');
  });
});
