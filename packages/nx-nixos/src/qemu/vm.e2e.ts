import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVmFixture, FIXTURE_CMDLINE_IGNORING_POWERDOWN, FIXTURE_HTTP_PORT, type VmFixture } from '../../../../tools/fixtures/vm-fixture';
import { profileSchema, type Profile } from '../profile/schema';
import { describeIfTools } from '../testing/tools';
import type { BootImage } from './boot';
import { prepareOverlay } from './disk';
import { inspectInstance, instancePaths, isOurQemu, listInstances, cleanBrokenInstance } from './instance';
import { launchVm } from './launch';
import { PortsBusyError } from './ports';
import { NotReadyError } from './readiness';
import { LaunchInterruptedError } from './start';
import { stopVm } from './stop';

jest.setTimeout(180_000);

/** Host ports far from the profiles' usual ones, so a developer's running VM does not interfere. */
const HOST_PORT = 28080 + (process.pid % 500);

function fixtureProfile(overrides: Record<string, unknown> = {}): Profile {
  return profileSchema.parse({
    name: 'fixture',
    description: 'Busybox guest serving HTTP',
    flake: { attribute: 'fixture' },
    image: { kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.cpio' },
    features: { extras: false },
    resources: { memoryMiB: 256, cpus: 1, diskGiB: 1 },
    ports: [{ name: 'http', guest: FIXTURE_HTTP_PORT, host: HOST_PORT }],
    services: [
      { name: 'Web', port: 'http', scheme: 'http', path: '/' },
      { name: 'Extras', feature: 'extras', port: 'http', scheme: 'http', path: '/extras/' },
    ],
    readiness: { port: 'http', probe: 'http', path: '/', timeoutSeconds: 120 },
    ...overrides,
  });
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

const qemuProcessesOf = (dir: string) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmdline.startsWith('qemu-system') && cmdline.includes(dir);
      } catch {
        return false;
      }
    });

describeIfTools(['qemu-system-x86_64', 'qemu-img', 'apt-get', 'dpkg', 'cpio'])('QEMU launcher on a real busybox guest (TCG)', () => {
  let fixture: VmFixture;
  let image: BootImage;
  let ws: string;

  beforeAll(() => {
    fixture = ensureVmFixture((line) => console.log(line));
    image = { storePath: fixture.dir, image: { kind: 'kernel', kernel: 'vmlinuz', initrd: 'initrd.cpio', cmdline: fixture.cmdline } };
    ws = mkdtempSync(join(tmpdir(), 'nx-nixos-vm-'));
  });
  afterAll(async () => {
    for (const info of listInstances(ws)) await stopVm(ws, info.profile, info.instance, { graceSeconds: 0 });
    rmSync(ws, { recursive: true, force: true });
  });

  it('launches, answers through the forwarded port, shows as running, and stops by powerdown leaving logs only', async () => {
    const profile = fixtureProfile();
    const vm = await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg' });
    expect(vm.stage).toBe('answered');
    expect(vm.state.instance).toBe('default');
    expect(vm.state.urls).toEqual([{ name: 'Web', url: `http://127.0.0.1:${HOST_PORT}/` }]);
    const page = await httpGet(vm.state.urls[0].url);
    expect(page).toEqual({ status: 200, body: 'fixture guest is up\n' });

    const info = inspectInstance(ws, 'fixture', 'default');
    expect(info.status).toBe('running');
    expect(info.state?.accel).toBe('tcg');
    expect(statSync(info.paths.state).mode & 0o777).toBe(0o600);
    expect(existsSync(info.paths.qmpSocket)).toBe(true);

    const stopped = await stopVm(ws, 'fixture', 'default', { graceSeconds: 20 });
    expect(stopped.how).toBe('powerdown');
    expect(stopped.info.status).toBe('stopped');
    expect(qemuProcessesOf(info.paths.dir)).toEqual([]);
    expect(existsSync(info.paths.pidfile)).toBe(false);
    expect(existsSync(info.paths.qmpSocket)).toBe(false);
    expect(readFileSync(info.paths.serialLog, 'utf8')).toContain('fixture: power button, powering off');
    expect(existsSync(info.paths.state)).toBe(true);
  });

  it('two launches at once get one instance each, each with its own QEMU, and stop finds both', async () => {
    const profile = fixtureProfile();
    const vms = await Promise.all([launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg' }), launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg' })]);
    try {
      expect(vms.map((vm) => vm.state.instance).sort()).toEqual(['default', 'default-2']);
      expect(new Set(vms.map((vm) => vm.state.pid)).size).toBe(2);
      for (const vm of vms) expect(qemuProcessesOf(`${vm.paths.dir}/`)).toEqual([String(vm.state.pid)]);
      expect(listInstances(ws, 'fixture').map((i) => [i.instance, i.status, i.pid])).toEqual(vms.map((vm) => [vm.state.instance, 'running', vm.state.pid]).sort());
    } finally {
      for (const vm of vms) expect((await stopVm(ws, 'fixture', vm.state.instance, { graceSeconds: 20 })).how).toBe('powerdown');
    }
    expect(qemuProcessesOf(join(ws, 'artifacts/vms/fixture'))).toEqual([]);
  });

  it('gives a second instance other host ports, or fails clearly with strict ports', async () => {
    const profile = fixtureProfile();
    const first = await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg' });
    try {
      const strict = await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg', strictPorts: true }).catch((e) => e);
      expect(strict).toBeInstanceOf(PortsBusyError);
      expect(strict.message).toContain(`${HOST_PORT} (http) is in use on 127.0.0.1`);

      const warnings: string[] = [];
      const second = await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg', warn: (w) => warnings.push(w) });
      expect(second.state.instance).toBe('default-2');
      expect(second.state.ports[0].host).not.toBe(HOST_PORT);
      expect(warnings.join('\n')).toContain(`Host port ${HOST_PORT} (http) is busy; using ${second.state.ports[0].host} instead.`);
      expect((await httpGet(second.state.urls[0].url)).status).toBe(200);
      expect((await httpGet(first.state.urls[0].url)).status).toBe(200);
      expect(listInstances(ws, 'fixture').map((i) => [i.instance, i.status])).toEqual([
        ['default', 'running'],
        ['default-2', 'running'],
      ]);
      await stopVm(ws, 'fixture', 'default-2', { graceSeconds: 20 });
    } finally {
      await stopVm(ws, 'fixture', 'default', { graceSeconds: 20 });
    }
  });

  it('retries with other ports when QEMU cannot bind one that looked free (another program took it meanwhile)', async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen({ port: HOST_PORT, host: '127.0.0.1' }, () => r()));
    try {
      const warnings: string[] = [];
      // The check runs before the port is taken, as in a race with another program.
      const vm = await launchVm({ workspaceRoot: ws, profile: fixtureProfile(), image, accel: 'tcg', warn: (w) => warnings.push(w), portIsFree: async () => true });
      expect(warnings).toContain(`QEMU could not bind port ${HOST_PORT}; retrying with other ports.`);
      expect(vm.state.ports[0].host).not.toBe(HOST_PORT);
      expect((await httpGet(vm.state.urls[0].url)).status).toBe(200);
      await stopVm(ws, 'fixture', vm.state.instance, { graceSeconds: 20 });
    } finally {
      squatter.close();
    }
  });

  it('hands a --secret file to the guest and writes its content nowhere', async () => {
    const secret = `age-secret-${process.pid}-${Date.now()}`;
    const dir = mkdtempSync(join(tmpdir(), 'nx-nixos-secret-'));
    const file = join(dir, 'age.key');
    writeFileSync(file, secret, { mode: 0o600 });
    try {
      const vm = await launchVm({ workspaceRoot: ws, profile: fixtureProfile(), image, accel: 'tcg', secrets: [{ name: 'sops-age-key', file }] });
      const served = await httpGet(`http://127.0.0.1:${vm.state.ports[0].host}/credentials/sops-age-key`);
      expect(served).toEqual({ status: 200, body: secret });
      expect(readFileSync(`/proc/${vm.state.pid}/cmdline`, 'utf8')).not.toContain(secret);
      await stopVm(ws, 'fixture', vm.state.instance, { graceSeconds: 20 });
      for (const f of [vm.paths.state, vm.paths.serialLog, vm.paths.qemuLog]) expect(readFileSync(f, 'utf8')).not.toContain(secret);
      expect(JSON.parse(readFileSync(vm.paths.state, 'utf8')).secrets).toEqual([{ name: 'sops-age-key', file }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quits a guest that ignores the power button right after the grace period', async () => {
    const vm = await launchVm({ workspaceRoot: ws, profile: fixtureProfile(), image, accel: 'tcg', cmdline: FIXTURE_CMDLINE_IGNORING_POWERDOWN });
    const stopped = await stopVm(ws, 'fixture', vm.state.instance, { graceSeconds: 2 });
    expect(stopped.how).toBe('quit');
    expect(stopped.ms).toBeGreaterThanOrEqual(2000);
    expect(stopped.info.status).toBe('stopped');
    expect(qemuProcessesOf(vm.paths.dir)).toEqual([]);
    expect(readFileSync(vm.paths.serialLog, 'utf8')).toContain('fixture: ignoring the power button');
  });

  it('reports a killed QEMU as broken, never signals a stranger behind a stale pidfile, and cleans up', async () => {
    const vm = await launchVm({ workspaceRoot: ws, profile: fixtureProfile(), image, accel: 'tcg' });
    process.kill(vm.state.pid, 'SIGKILL');
    await vm.exited;
    const broken = inspectInstance(ws, 'fixture', vm.state.instance);
    expect(broken.status).toBe('broken');
    expect(broken.reason).toContain('not running');

    // The PID is reused by another process: it must be recognised as not ours and left alone.
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(vm.paths.pidfile, `${stranger.pid}\n`);
      const reused = inspectInstance(ws, 'fixture', vm.state.instance);
      expect(reused.status).toBe('broken');
      expect(reused.reason).toContain("not this instance's QEMU");
      expect(isOurQemu(stranger.pid!, vm.state.qmpSocket)).toBe(false);
      const result = await stopVm(ws, 'fixture', vm.state.instance, { graceSeconds: 1 });
      expect(result.how).toBe('not-running');
      expect(stranger.exitCode).toBeNull();
      expect(existsSync(`/proc/${stranger.pid}`)).toBe(true);
      expect(inspectInstance(ws, 'fixture', vm.state.instance).status).toBe('stopped');
    } finally {
      stranger.kill();
    }

    // And a broken instance is cleaned on request.
    writeFileSync(vm.paths.pidfile, '999999\n');
    const again = inspectInstance(ws, 'fixture', vm.state.instance);
    expect(again.status).toBe('broken');
    cleanBrokenInstance(again);
    expect(inspectInstance(ws, 'fixture', vm.state.instance).status).toBe('stopped');
    expect(existsSync(vm.paths.serialLog)).toBe(true);
  });

  it('stops waiting and shuts the VM down when the launch is aborted before the VM is ready', async () => {
    const controller = new AbortController();
    const error = await launchVm({
      workspaceRoot: ws,
      profile: fixtureProfile(),
      image,
      accel: 'tcg',
      signal: controller.signal,
      graceSeconds: 3,
      log: (line) => line.includes('process alive') && controller.abort(),
    }).catch((e) => e);
    expect(error).toBeInstanceOf(LaunchInterruptedError);
    expect(error.message).toMatch(/^Interrupted before fixture instance "default" was ready; the VM was shut down \((powerdown|quit)\)\. Logs kept in /);
    const info = inspectInstance(ws, 'fixture', 'default');
    expect(info.status).toBe('stopped');
    expect(info.state?.readyAt).toBeUndefined();
    expect(qemuProcessesOf(info.paths.dir)).toEqual([]);
    expect(existsSync(info.paths.pidfile)).toBe(false);

    const before = await launchVm({ workspaceRoot: ws, profile: fixtureProfile(), image, accel: 'tcg', signal: AbortSignal.abort() }).catch((e) => e);
    expect(before).toBeInstanceOf(LaunchInterruptedError);
    expect(before.message).toContain('Interrupted before QEMU was started');
    expect(qemuProcessesOf(info.paths.dir)).toEqual([]);
  });

  it('says what was reached and names the serial log when the readiness port never answers, and leaves no QEMU', async () => {
    const profile = fixtureProfile({
      ports: [{ name: 'http', guest: 81, host: HOST_PORT }],
      readiness: { port: 'http', probe: 'http', path: '/', timeoutSeconds: 8 },
    });
    const error = await launchVm({ workspaceRoot: ws, profile, image, accel: 'tcg' }).catch((e) => e);
    expect(error).toBeInstanceOf(NotReadyError);
    expect(error.message).toContain('The VM was not ready after 8 s. Reached: QMP running; no HTTP status on 127.0.0.1:');
    expect(error.message).toContain(`Serial log: ${instancePaths(ws, 'fixture', 'default').serialLog}`);
    expect(inspectInstance(ws, 'fixture', 'default').status).toBe('stopped');
    expect(qemuProcessesOf(instancePaths(ws, 'fixture', 'default').dir)).toEqual([]);
  });

  it('a start QEMU refuses leaves no QMP socket behind, so the instance is stopped, not broken', async () => {
    const missing: BootImage = { storePath: fixture.dir, image: { kind: 'kernel', kernel: 'no-such-vmlinuz', initrd: 'initrd.cpio', cmdline: fixture.cmdline } };
    const error = await launchVm({ workspaceRoot: ws, profile: fixtureProfile(), image: missing, accel: 'tcg', instance: 'refused' }).catch((e) => e);
    expect(error.message).toMatch(/^QEMU failed to start: qemu-system-x86_64 exited with code 1 and said:\n.*no-such-vmlinuz/);
    expect(error.message).toContain(`Full output: ${instancePaths(ws, 'fixture', 'refused').qemuLog}`);
    const info = inspectInstance(ws, 'fixture', 'refused');
    expect(existsSync(info.paths.qmpSocket)).toBe(false);
    expect(info.status).toBe('stopped');
  });

  it('an HTTP 404 on the readiness path is not ready, unless readiness.acceptStatus accepts it', async () => {
    const readiness = { port: 'http', probe: 'http', path: '/missing', timeoutSeconds: 45 };
    const error = await launchVm({ workspaceRoot: ws, profile: fixtureProfile({ readiness }), image, accel: 'tcg' }).catch((e) => e);
    expect(error).toBeInstanceOf(NotReadyError);
    expect(error.message).toMatch(/answered "HTTP\/1\.[01] 404 Not Found", which is not ready \(readiness\.acceptStatus: 2xx, 3xx\)/);
    expect(qemuProcessesOf(instancePaths(ws, 'fixture', 'default').dir)).toEqual([]);

    const vm = await launchVm({ workspaceRoot: ws, profile: fixtureProfile({ readiness: { ...readiness, acceptStatus: ['2xx', 404] } }), image, accel: 'tcg' });
    expect(vm.stage).toBe('answered');
    await stopVm(ws, 'fixture', vm.state.instance, { graceSeconds: 0 });
  });

  it('creates a qcow2 overlay over the image, keeps it between launches and discards it with fresh', async () => {
    const base = join(ws, 'base.qcow2');
    const created = spawn('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']);
    await new Promise((r) => created.on('exit', r));
    const overlay = join(ws, 'overlay.qcow2');
    expect((await prepareOverlay({ overlay, base, baseFormat: 'qcow2' })).created).toBe(true);
    expect((await prepareOverlay({ overlay, base, baseFormat: 'qcow2' })).created).toBe(false);
    expect((await prepareOverlay({ overlay, base, baseFormat: 'qcow2', fresh: true })).created).toBe(true);
    await expect(prepareOverlay({ overlay, base: join(ws, 'other.qcow2'), baseFormat: 'qcow2' })).rejects.toThrow('--fresh');
    await expect(prepareOverlay({ overlay: join(ws, 'o2.qcow2'), base, baseFormat: 'qcow2', minFreeBytes: Number.MAX_SAFE_INTEGER })).rejects.toThrow(/free on the disk/);
  });
});
