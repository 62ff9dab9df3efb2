import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_VM_MODULE_FILE, devVmFlakeFiles, ensureDevVmFixture, FIXTURE_HTTP_PORT, fixtureVmProfile } from '../../../../../tools/fixtures/vm-fixture';
import { qemusUnder, waitForOutput } from '../../testing/processes';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, profileJson, REPO_ROOT, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HOST_PORT = 30080 + (process.pid % 500);
/** Unique per run, so that the module's derivations are new to the store and really built. */
const RUN = `${process.pid}-${Date.now()}`;
const PAGE_ONE = `page one of ${RUN}\n`;
const PAGE_TWO = `page two of ${RUN}\n`;

/** Waits for the page the guest serves from the store (Nx starts a dependent as soon as the continuous task has started). */
const SMOKE = `
const port = process.argv[2];
const deadline = Date.now() + 240000;
(async () => {
  for (;;) {
    try {
      const r = await fetch('http://127.0.0.1:' + port + '/store.html', { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return console.log('smoke: guest serves ' + (await r.text()).trim());
    } catch {}
    if (Date.now() > deadline) { console.error('smoke: no answer'); process.exit(1); }
    await new Promise((r) => setTimeout(r, 200));
  }
})();
`;

const state = (dir: string) => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
const page = async (path: string) => (await fetch(`http://127.0.0.1:${HOST_PORT}${path}`)).text();

async function waitUntilStopped(dir: string): Promise<void> {
  for (let i = 0; i < 300 && !state(dir).stoppedAt; i++) await new Promise((r) => setTimeout(r, 100));
}

/** "development VM built 2, substituted 0 in 1.2s (devvm, page)" -> ["devvm", "page"] */
const builtDerivations = (output: string) => {
  const m = /development VM built (\d+)[^\n]*?(?: \(([^)]*)\))?; no disk image/.exec(output);
  if (!m) throw new Error(`no build summary in:\n${output}`);
  return m[2] ? m[2].split(', ') : [];
};

describeIfTools(['nix', 'git', 'qemu-system-x86_64', 'qemu-img', 'apt-get', 'dpkg', 'cpio'])('development VM (build-vm, start-vm, launch-vm) through real nx (TCG)', () => {
  let ws: TestWorkspace;
  let vmDir: string;

  beforeAll(() => {
    const fixture = ensureDevVmFixture((line) => console.log(line));
    ws = createTestWorkspace({
      files: {
        ...devVmFlakeFiles(fixture, 'fixture', PAGE_ONE),
        'profiles/fixture/project.json': JSON.stringify({
          targets: {
            'launch-vm': { options: { accel: 'tcg' } },
            smoke: { command: `node tools/smoke.js ${HOST_PORT}`, dependsOn: ['launch-vm'] },
          },
        }),
        'tools/smoke.js': SMOKE,
        'profiles/fixture/profile.json': profileJson(
          fixtureVmProfile(fixture, 'fixture', HOST_PORT, { services: [{ name: 'Web', port: 'http', scheme: 'http', path: '/' }] }),
        ),
      },
    });
    vmDir = join(ws.root, 'artifacts/vms/fixture/default');
  });
  afterAll(() => {
    ws?.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
    ws?.cleanup();
  });

  it('start-vm builds the run script (no image), boots it with the host store shared, serves a store file; status, secrets and stop work on it', async () => {
    const token = `token-${process.pid}-${Date.now()}`;
    ws.write('secrets/token.txt', token);
    const started = ws.nx(['run', 'fixture:start-vm', '--accel', 'tcg', '--secret', 'fixture-token=secrets/token.txt']);
    expect({ code: started.code, output: started.code === 0 ? '' : started.output }).toEqual({ code: 0, output: '' });
    expect(builtDerivations(started.output).sort()).toEqual(['devvm', 'page']);
    expect(started.output).toContain('fixture is ready (instance "default", TCG)');
    expect(started.output).toContain(`Web  http://127.0.0.1:${HOST_PORT}/`);
    expect(started.output).not.toContain(token);
    // The guest reads the page from the host's /nix/store over 9p, at the path the run script names.
    expect(await page('/store.html')).toBe(PAGE_ONE);
    expect(await page('/boots')).toBe('1\n');
    expect(await page('/credentials/fixture-token')).toBe(token);

    const manifest = JSON.parse(readFileSync(join(ws.root, 'artifacts/dev-vms/fixture/manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ profile: 'fixture', installable: 'nixosConfigurations.fixture.config.system.build.vm', runScript: 'bin/run-fixture-vm' });
    expect(JSON.stringify(manifest)).not.toContain(ws.root);
    const recorded = state(vmDir);
    expect(recorded.image).toMatchObject({ kind: 'dev-vm', runScript: 'bin/run-fixture-vm', storePath: manifest.storePath });
    expect(recorded.devDisk).toBe(join(vmDir, 'dev-vm.qcow2'));
    // The command QEMU runs: the run script's, with ours appended (the last -name wins).
    expect(recorded.command).toEqual(expect.arrayContaining(['-nographic', '-pidfile', join(vmDir, 'qemu.pid')]));
    expect(recorded.command.join(' ')).toContain('mount_tag=nix-store');
    expect(readFileSync(join(vmDir, 'state.json'), 'utf8')).not.toContain(token);

    const status = ws.nx(['run', 'fixture:status']);
    expect(status.output).toMatch(/fixture "default": running \(PID \d+, TCG, up (\d+[hm] )*\d+s\)/);
    expect(status.output).toContain(`http 127.0.0.1:${HOST_PORT}->${FIXTURE_HTTP_PORT}`);
    expect(status.output).toContain(`development VM: ${manifest.storePath}/bin/run-fixture-vm, disk ${join(vmDir, 'dev-vm.qcow2')}`);

    // A second instance gets another host port, through the run script's QEMU_NET_OPTS.
    const second = ws.nx(['run', 'fixture:start-vm', '--accel', 'tcg']);
    expect({ code: second.code, output: second.code === 0 ? '' : second.output }).toEqual({ code: 0, output: '' });
    expect(second.output).toMatch(new RegExp(`Host port ${HOST_PORT} \\(http\\) is busy; using \\d+ instead`));
    expect(second.output).toContain('fixture is ready (instance "default-2", TCG)');

    const stopped = ws.nx(['run', 'fixture:stop']);
    expect({ code: stopped.code, output: stopped.code === 0 ? '' : stopped.output }).toEqual({ code: 0, output: '' });
    expect(stopped.output).toMatch(/fixture "default" stopped \(powerdown, [\d.]+ s\)/);
    expect(stopped.output).toMatch(/fixture "default-2" stopped \(powerdown, [\d.]+ s\)/);
    expect(qemusUnder(join(ws.root, 'artifacts/vms'))).toEqual([]);
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
    expect(readFileSync(join(vmDir, 'serial.log'), 'utf8')).toContain('fixture: host /nix/store mounted over 9p');
    expect(ws.nx(['run', 'fixture:status']).output).toContain('fixture "default": stopped');
  });

  it('the writable disk survives a relaunch until --fresh', async () => {
    const again = ws.nx(['run', 'fixture:start-vm', '--accel', 'tcg', '--instance', 'default']);
    expect({ code: again.code, output: again.code === 0 ? '' : again.output }).toEqual({ code: 0, output: '' });
    expect(await page('/boots')).toBe('2\n');
    expect(ws.nx(['run', 'fixture:stop']).code).toBe(0);

    const fresh = ws.nx(['run', 'fixture:start-vm', '--accel', 'tcg', '--instance', 'default', '--fresh']);
    expect({ code: fresh.code, output: fresh.code === 0 ? '' : fresh.output }).toEqual({ code: 0, output: '' });
    expect(await page('/boots')).toBe('1\n');
    expect(ws.nx(['run', 'fixture:stop']).code).toBe(0);
    expect(qemusUnder(vmDir)).toEqual([]);
  });

  it('changing one module rebuilds only its derivation and the run script, no image; the guest serves the new page', async () => {
    const cached = ws.nx(['run', 'fixture:build-vm']);
    expect({ code: cached.code, output: cached.code === 0 ? '' : cached.output }).toEqual({ code: 0, output: '' });
    expect(cached.output).toMatch(/Nx read the output from the cache|existing outputs match the cache/);

    ws.write(DEV_VM_MODULE_FILE, PAGE_TWO);
    ws.commit('edit the web module');
    const rebuilt = ws.nx(['run', 'fixture:build-vm']);
    expect({ code: rebuilt.code, output: rebuilt.code === 0 ? '' : rebuilt.output }).toEqual({ code: 0, output: '' });
    // From Nix's progress stream: the edited module's derivation and the run script that names it.
    expect(builtDerivations(rebuilt.output).sort()).toEqual(['devvm', 'page']);

    const launched = ws.nx(['run', 'fixture:start-vm', '--accel', 'tcg']);
    expect({ code: launched.code, output: launched.code === 0 ? '' : launched.output }).toEqual({ code: 0, output: '' });
    expect(await page('/store.html')).toBe(PAGE_TWO);
    expect(ws.nx(['run', 'fixture:stop']).code).toBe(0);
    // Nx had the build in its cache: start-vm rebuilt nothing.
    expect(launched.output).toMatch(/nx run fixture:build-vm\s+\[local cache\]/);
  });

  it('launch-vm is continuous and depends on build-vm; Nx ending it, or SIGINT, shuts the VM down gracefully', async () => {
    const shown = JSON.parse(ws.nx(['show', 'project', 'fixture', '--json']).stdout);
    expect(shown.targets['launch-vm']).toMatchObject({ continuous: true, dependsOn: ['build-vm'], options: { devVm: true } });
    expect(shown.targets['start-vm'].options).toMatchObject({ devVm: true, detach: true });
    expect(shown.targets['build-vm'].cache).toBe(true);
    const detached = ws.nx(['run', 'fixture:launch-vm', '--detach']);
    expect(detached.code).not.toBe(0);
    expect(detached.output).toContain('Start the VM in the background with: npx nx run fixture:start-vm');

    // Nx ends the continuous launch-vm once its dependent is done (it signals the task's process tree):
    // QEMU runs outside that tree, so the launcher shuts it down gracefully.
    const smoke = ws.nx(['run', 'fixture:smoke']);
    expect({ code: smoke.code, output: smoke.code === 0 ? '' : smoke.output }).toEqual({ code: 0, output: '' });
    expect(smoke.output).toContain(`smoke: guest serves ${PAGE_TWO.trim()}`);
    await waitUntilStopped(vmDir);
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(state(vmDir).stoppedHow).toBe('powerdown');

    const child = ws.start(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['run', 'fixture:launch-vm', '--accel', 'tcg']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForOutput(child, /Press Ctrl-C to shut it down/, 180_000);
    expect(qemusUnder(vmDir)).toHaveLength(1);
    child.kill('SIGINT');
    await exited;
    await waitUntilStopped(vmDir);
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(state(vmDir).stoppedHow).toBe('powerdown');
    expect(existsSync(join(vmDir, 'qemu.pid'))).toBe(false);
    expect(readFileSync(join(vmDir, 'serial.log'), 'utf8')).toContain('fixture: power button, powering off');
  });
});
