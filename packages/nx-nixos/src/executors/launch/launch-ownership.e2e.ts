import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVmFixture, fixtureFlakeFiles, fixtureVmProfile } from '../../../../../tools/fixtures/vm-fixture';
import { finished, qemusUnder, waitForOutput } from '../../testing/processes';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, profileJson, REPO_ROOT, testEnv, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HOST_PORT = 26080 + (process.pid % 500);
const NX = join(REPO_ROOT, 'node_modules', '.bin', 'nx');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; ; await sleep(100)) {
    if (condition()) return true;
    if (Date.now() > deadline) return false;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A stand-in for npx, a CI runner or an IDE's process: runs a program and dies of any signal it gets, without passing it on. */
const WRAPPER = `
const { spawn } = require('node:child_process');
const child = spawn(process.argv[2], process.argv.slice(3), { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
`;

describeIfTools(['nix', 'git', 'npx', 'qemu-system-x86_64', 'qemu-img', 'apt-get', 'dpkg', 'cpio'])('one instance, one owner: launch, start, stop and status through real nx (TCG)', () => {
  let ws: TestWorkspace;
  let vms: string;
  let vmDir: string;
  const nxAsync = (args: string[], env: NodeJS.ProcessEnv = {}) => finished(ws.start(NX, args, { env }));
  const status = () => ws.nx(['run', 'fixture:status']).output;

  beforeAll(() => {
    const fixture = ensureVmFixture((line) => console.log(line));
    ws = createTestWorkspace({
      files: {
        ...fixtureFlakeFiles(fixture),
        'profiles/fixture/project.json': JSON.stringify({ targets: { launch: { options: { accel: 'tcg' } }, start: { options: { accel: 'tcg' } } } }),
        'profiles/fixture/profile.json': profileJson(fixtureVmProfile(fixture, 'fixture', HOST_PORT, { services: [{ name: 'Web', port: 'http', scheme: 'http', path: '/' }] })),
        'tools/wrapper.js': WRAPPER,
      },
    });
    vms = join(ws.root, 'artifacts/vms/fixture');
    vmDir = join(vms, 'default');
    const built = ws.nx(['run', 'fixture:build-image']);
    if (built.code !== 0) throw new Error(`build-image failed:\n${built.output}`);
  });
  afterEach(() => {
    const stopped = ws.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
    if (stopped.code !== 0) console.warn(stopped.output);
    for (const pid of qemusUnder(vms)) process.kill(pid, 'SIGKILL');
  });
  afterAll(() => ws?.cleanup());

  it('two starts at once get one instance each: both show in status with their own PID, and stop stops both', async () => {
    rmSync(vms, { recursive: true, force: true });
    const runs = await Promise.all([nxAsync(['run', 'fixture:start']), nxAsync(['run', 'fixture:start'])]);
    for (const run of runs) expect(run.code).toBe(0);
    const instances = runs.map((r) => /ready \(instance "([^"]+)"/.exec(r.output)?.[1]).sort();
    expect(instances).toEqual(['default', 'default-2']);
    expect(qemusUnder(vms)).toHaveLength(2);
    const shown = status();
    const pids = [...shown.matchAll(/: running \(PID (\d+)/g)].map((m) => m[1]);
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);

    const stopped = ws.nx(['run', 'fixture:stop']);
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/fixture "default" stopped \(powerdown/);
    expect(stopped.output).toMatch(/fixture "default-2" stopped \(powerdown/);
    expect(qemusUnder(vms)).toEqual([]);
  });

  it('two starts of the same --instance at once: one runs it, the other fails naming its owner or the running VM', async () => {
    const runs = await Promise.all([nxAsync(['run', 'fixture:start', '--instance', 'same']), nxAsync(['run', 'fixture:start', '--instance', 'same'])]);
    expect(runs.map((r) => r.code).sort()).toEqual([0, 1]);
    const failed = runs.find((r) => r.code !== 0)!.output;
    expect(failed).toMatch(
      /fixture instance "same" is busy: PID \d+ \(nx run fixture:start, since [^)]+\) is starting or stopping it|fixture instance "same" is already running \(PID \d+\)/,
    );
    expect(qemusUnder(join(vms, 'same'))).toHaveLength(1);
    expect(status()).toMatch(/fixture "same": running \(PID \d+/);
  });

  const damages: [string, (dir: string) => void, RegExp][] = [
    ['state.json is not JSON', (dir) => writeFileSync(join(dir, 'state.json'), '{"stateVersion": 1, "pid": '), /state\.json is not valid JSON/],
    [
      'state.json has fields of the wrong type',
      (dir) => {
        const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
        writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...state, pid: String(state.pid), qmpSocket: 42, ports: 'http' }));
      },
      /state\.json is damaged: pid: .*expected number, received string/,
    ],
    ['qemu.pid names another process', (dir) => writeFileSync(join(dir, 'qemu.pid'), `${stranger.pid}\n`), /its pidfile names PID \d+, not QEMU's/],
    ['qemu.pid was deleted', (dir) => rmSync(join(dir, 'qemu.pid')), /its pidfile is missing/],
  ];
  let stranger: ChildProcess;
  beforeAll(() => (stranger = spawn('sleep', ['600'], { stdio: 'ignore' })));
  afterAll(() => stranger.kill());

  it.each(damages)('status and stop find a running VM whose %s, and stop shuts it down', async (_, damage, note) => {
    expect(ws.nx(['run', 'fixture:start']).code).toBe(0);
    const [pid] = qemusUnder(vmDir);
    damage(vmDir);
    const shown = status();
    expect(shown).toContain(`fixture "default": running (PID ${pid}`);
    expect(shown).toMatch(note);

    const stopped = ws.nx(['run', 'fixture:stop']);
    expect(stopped.code).toBe(0);
    expect(stopped.output).toMatch(/fixture "default" stopped \((powerdown|quit|kill)/);
    expect(qemusUnder(vmDir)).toEqual([]);
    expect(existsSync(`/proc/${stranger.pid}`)).toBe(true);
    expect(status()).toContain('fixture "default": stopped');
  });

  // npm hands SIGINT and SIGTERM to the shell it runs nx through. Debian's dash holds a SIGINT until its command
  // ends, so nothing of the job sees it; bash runs nx in its own place, and npx's SIGINT reaches nx.
  it.each([
    ['npx', 'SIGTERM'],
    ['npx', 'SIGHUP'],
    ['npx with script-shell bash', 'SIGINT'],
    ['a wrapper', 'SIGINT'],
    ['a wrapper', 'SIGTERM'],
    ['a wrapper', 'SIGHUP'],
  ] as const)('%s running nx run fixture:launch gets %s alone: the VM is shut down and status says so', async (outer, signal) => {
    const [program, args] = outer.startsWith('npx')
      ? ['npx', ['nx', 'run', 'fixture:launch', '--grace-seconds', '5']]
      : [process.execPath, ['tools/wrapper.js', NX, 'run', 'fixture:launch', '--grace-seconds', '5']];
    const env = testEnv({ NO_UPDATE_NOTIFIER: '1', ...(outer.includes('bash') ? { npm_config_script_shell: '/bin/bash' } : {}) });
    // A job of its own, as a terminal, an IDE or a CI runner starts it.
    const child = spawn(program, args, { cwd: ws.root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await waitForOutput(child, /Press Ctrl-C to shut it down/, 180_000);
      expect(qemusUnder(vmDir)).toHaveLength(1);
      process.kill(child.pid!, signal);
      await exited;
      expect(await until(() => qemusUnder(vmDir).length === 0, 30_000)).toBe(true);
      expect(await until(() => JSON.parse(readFileSync(join(vmDir, 'state.json'), 'utf8')).stoppedAt !== undefined, 10_000)).toBe(true);
      expect(status()).toContain('fixture "default": stopped');
      // What remains of the job (nx, the launcher) finishes on its own.
      expect(await until(() => !groupAlive(child.pid!), 30_000)).toBe(true);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  });

  it('--secret keeps a file name with a comma whole (Nx does not split it into two credentials)', async () => {
    const token = `token-${process.pid}-${Date.now()}`;
    ws.write('secrets/a,b=c.txt', token);
    // What Nx's splitting at commas would have handed over instead: "probe=secrets/a" and "b=c.txt".
    ws.write('secrets/a', 'wrong file');
    ws.write('c.txt', 'wrong file');
    const started = ws.nx(['run', 'fixture:start', '--secret', 'probe=secrets/a,b=c.txt']);
    expect(started.code).toBe(0);
    expect(await (await fetch(`http://127.0.0.1:${HOST_PORT}/credentials/probe`)).text()).toBe(token);
    expect((await fetch(`http://127.0.0.1:${HOST_PORT}/credentials/b`)).status).toBe(404);
    expect(JSON.parse(readFileSync(join(vmDir, 'state.json'), 'utf8')).secrets).toEqual([{ name: 'probe', file: join(ws.root, 'secrets/a,b=c.txt') }]);
  });

  it('says which QEMU failed and what it said: NX_NIXOS_QEMU=/bin/false, NX_NIXOS_QEMU=/nonexistent', () => {
    const silent = ws.nx(['run', 'fixture:start'], { env: { NX_NIXOS_QEMU: '/bin/false' } });
    expect(silent.code).not.toBe(0);
    expect(silent.output).toContain('QEMU failed to start: NX_NIXOS_QEMU=/bin/false exited with code 1 without printing anything.');
    expect(silent.output).toContain('NX_NIXOS_QEMU is set: check that it names a QEMU system emulator');
    const missing = ws.nx(['run', 'fixture:start'], { env: { NX_NIXOS_QEMU: '/nonexistent' } });
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain('NX_NIXOS_QEMU=/nonexistent: no such program.');
    expect(missing.output).not.toContain('not found on PATH');
    // Neither failed start leaves anything that makes the instance look broken.
    expect(status()).toContain('fixture "default": stopped');
    expect(existsSync(join(vmDir, 'qmp.sock'))).toBe(false);
  });

  it('a folder where the QMP socket belongs is named, not a raw EISDIR', () => {
    mkdirSync(join(vms, 'sockdir', 'qmp.sock'), { recursive: true });
    try {
      const started = ws.nx(['run', 'fixture:start', '--instance', 'sockdir']);
      expect(started.code).not.toBe(0);
      expect(started.output).toContain(`${join(vms, 'sockdir', 'qmp.sock')} is a folder where QEMU's QMP socket belongs`);
      expect(started.output).not.toContain('EISDIR');
      expect(status()).toContain(`fixture "sockdir": broken: ${join(vms, 'sockdir', 'qmp.sock')} is a folder`);
      expect(qemusUnder(join(vms, 'sockdir'))).toEqual([]);
    } finally {
      rmSync(join(vms, 'sockdir'), { recursive: true, force: true });
    }
  });

  describe('on a full disk', () => {
    const dir = () => join(vms, 'full');
    let mounted = false;
    beforeAll(() => {
      mkdirSync(dir(), { recursive: true });
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir()], { encoding: 'utf8' });
      mounted = mount.status === 0;
      if (!mounted) {
        const reason = `cannot mount a small tmpfs (${mount.stderr.trim() || mount.error?.message}): run as root`;
        if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${reason}`);
        console.warn(`SKIPPING full-disk tests: ${reason}`);
        return;
      }
      const filler = openSync(join(dir(), 'filler'), 'w');
      try {
        for (const block = Buffer.alloc(4096, 1); ; ) writeSync(filler, block);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        closeSync(filler);
      }
    });
    afterAll(() => {
      for (const pid of qemusUnder(dir())) process.kill(pid, 'SIGKILL');
      if (mounted) spawnSync('umount', ['-l', dir()]);
    });

    it('QEMU cannot write its pidfile: the error quotes what QEMU said though qemu.log could not be written', () => {
      if (!mounted) return;
      const started = ws.nx(['run', 'fixture:start', '--instance', 'full']);
      expect(started.code).not.toBe(0);
      expect(started.output).toContain('QEMU failed to start: qemu-system-x86_64 exited with code 1 and said:');
      expect(started.output).toContain('cannot create PID file');
      expect(started.output).toContain(`Its output could not be saved to ${join(dir(), 'qemu.log')} (ENOSPC).`);
      expect(qemusUnder(dir())).toEqual([]);
      expect(existsSync(join(dir(), 'qmp.sock'))).toBe(false);
      expect(status()).toContain('fixture "full": stopped');
    });

    it('state.json cannot be written: start fails naming the file, and QEMU is not left running', () => {
      if (!mounted) return;
      // One page free: enough for QEMU's pidfile, not for state.json.
      const filler = openSync(join(dir(), 'filler'), 'r+');
      try {
        ftruncateSync(filler, (Math.ceil(fstatSync(filler).size / 4096) - 1) * 4096);
      } finally {
        closeSync(filler);
      }
      const started = ws.nx(['run', 'fixture:start', '--instance', 'full']);
      expect(started.code).not.toBe(0);
      expect(started.output).toContain(`Could not write ${join(dir(), 'state.json')}: no space left on device (ENOSPC).`);
      expect(started.output).toMatch(/QEMU \(PID \d+\) was stopped again: a VM whose state cannot be recorded is not left running\. Free some space on that disk/);
      expect(qemusUnder(dir())).toEqual([]);
      expect(existsSync(join(dir(), 'qmp.sock'))).toBe(false);
      expect(status()).toContain('fixture "full": stopped');
    });
  });
});
