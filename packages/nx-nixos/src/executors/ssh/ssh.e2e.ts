import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVmFixture, FIXTURE_SSH_PORT, fixtureSshWorkspaceFiles } from '../../../../../tools/fixtures/vm-fixture';
import { processesWorkingIn, terminalSession, until } from '../../testing/terminal';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, REPO_ROOT, testEnv, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(300_000);

const HTTP_PORT = 30080 + (process.pid % 500);
const SSH_PORT = 30680 + (process.pid % 500);

/** Every regular file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));

/** The base64 body of an OpenSSH private key file: what must appear nowhere else. */
const keyBody = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');

describeIfTools(['nix', 'git', 'qemu-system-x86_64', 'apt-get', 'dpkg', 'cpio', 'ssh', 'ssh-keygen', 'ldd', 'script'])('ssh into a running fixture VM through real nx (TCG, dropbear in the guest)', () => {
  let ws: TestWorkspace;
  let vmDir: string;
  const nxWithInput = (args: string[], input: string) => {
    const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), args, { cwd: ws.root, env: testEnv(), input, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
  };

  beforeAll(() => {
    const fixture = ensureVmFixture((line) => console.log(line));
    ws = createTestWorkspace({
      files: fixtureSshWorkspaceFiles(fixture, HTTP_PORT, SSH_PORT, { targets: { start: { options: { accel: 'tcg' } } } }),
    });
    vmDir = join(ws.root, 'artifacts/vms/fixture/default');
    const built = ws.nx(['run', 'fixture:build-image']);
    if (built.code !== 0) throw new Error(`build-image failed:\n${built.output}`);
  });
  afterAll(() => {
    ws?.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
    ws?.cleanup();
  });

  it('says to start the VM when none runs', () => {
    const result = ws.nx(['run', 'fixture:ssh', '--', 'true']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('fixture has no running instance. Start one: npx nx run fixture:start');
  });

  it('runs commands with their output, stdin and failure; --print gives the plain ssh command, which returns the exit code itself', () => {
    const started = ws.nx(['run', 'fixture:start']);
    expect(started.code).toBe(0);
    expect(started.output).toContain('Shell: npx nx run fixture:ssh\n');

    const version = ws.nx(['run', 'fixture:ssh', '--', 'cat', '/proc/version']);
    expect(version.output).toContain('Linux version');
    expect(version.code).toBe(0);

    const piped = nxWithInput(['run', 'fixture:ssh', '--', 'tr', 'a-z', 'A-Z'], 'piped through\n');
    expect(piped.output).toContain('PIPED THROUGH');
    expect(piped.code).toBe(0);

    const failed = ws.nx(['run', 'fixture:ssh', '--', 'sh', '-c', 'echo before failing; exit 3']);
    expect(failed.output).toContain('before failing');
    expect(failed.output).toContain('The command exited with status 3.');
    expect(failed.code).not.toBe(0);

    const printed = ws.nx(['run', 'fixture:ssh', '--', '--print', '--', 'sh', '-c', 'echo plain; exit 3']);
    expect(printed.code).toBe(0);
    const line = printed.stdout.split('\n').find((l) => l.startsWith('ssh '))!;
    expect(line).toContain(`-p ${SSH_PORT} root@127.0.0.1`);
    expect(line).toContain('StrictHostKeyChecking=yes');
    expect(printed.output).toMatch(/# files: scp .* -P \d+ SOURCE root@127\.0\.0\.1:DEST/);
    const plain = spawnSync('sh', ['-c', line], { cwd: ws.root, encoding: 'utf8' });
    expect(plain.stdout).toBe('plain\n');
    expect(plain.status).toBe(3);
  });

  const NX = join(REPO_ROOT, 'node_modules', '.bin', 'nx');

  it('opens an interactive shell on a terminal, with NX_TUI=true and NX_TUI=false', async () => {
    // The first interactive nx command asks about analytics unless nx.json says.
    const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
    ws.write('nx.json', JSON.stringify({ ...nxJson, analytics: false }, null, 2));
    for (const tui of ['false', 'true']) {
      const session = terminalSession(`${NX} run fixture:ssh`, { cwd: ws.root, env: testEnv({ NX_TUI: tui }) });
      try {
        session.type('echo shell-$((40 + 2)); tty; exit 5\n');
        expect({ tui, status: await session.exited }).toEqual({ tui, status: 1 });
        expect(session.output()).toContain('shell-42');
        expect(session.output()).toMatch(/\/dev\/pts\/\d+/);
        expect(session.output()).toContain('The shell exited with status 5.');
      } finally {
        session.end();
      }
    }
  });

  // Nx 22 runs a task on a pseudo-terminal of its own; when the user's terminal goes away, its orchestrator
  // stays behind, waiting for a task exit it never hears of (nrwl/nx#36682, fixed in Nx 23). Without that
  // runner (NX_NATIVE_COMMAND_RUNNER=false), ssh has the user's terminal and nothing stays.
  it.each([
    ["Nx's pseudo-terminal task runner", {}, /run-executor|fork\.js|^ssh /],
    ['NX_NATIVE_COMMAND_RUNNER=false', { NX_NATIVE_COMMAND_RUNNER: 'false' }, /./],
  ] as const)('closing the terminal of an interactive shell ends ssh and the executor (%s)', async (_, env, mustEnd) => {
    const session = terminalSession(`${NX} run fixture:ssh`, { cwd: ws.root, env: testEnv(env) });
    try {
      session.type('echo shell-$((40 + 2))\n');
      await session.waitFor(/shell-42/, 120_000);
      expect(processesWorkingIn(ws.root).some((p) => p.args.startsWith('ssh '))).toBe(true);
      session.close();
      const left = () => processesWorkingIn(ws.root).filter((p) => mustEnd.test(p.args));
      await until(() => left().length === 0, 30_000);
      expect(left()).toEqual([]);
    } finally {
      session.end();
    }
    await until(() => processesWorkingIn(ws.root).length === 0, 5_000);
    expect(processesWorkingIn(ws.root)).toEqual([]);
  });

  // An IDE, a CI runner or a parent process may signal nx alone, or kill it outright (SIGKILL: Nx cannot end
  // its tasks then), while the terminal stays, held by the shell nx was started from. Without Nx's
  // pseudo-terminal ssh has that terminal: left running, it would go on reading from it.
  const legacyRunner = { NX_NATIVE_COMMAND_RUNNER: 'false' };
  it.each([
    ["Nx's pseudo-terminal task runner", 'SIGTERM', {}],
    ["Nx's pseudo-terminal task runner", 'SIGKILL', {}],
    ['NX_NATIVE_COMMAND_RUNNER=false', 'SIGTERM', legacyRunner],
    ['NX_NATIVE_COMMAND_RUNNER=false', 'SIGKILL', legacyRunner],
  ] as const)('nx alone ending on a signal ends the shell: ssh and the executor end too (%s, %s)', async (_, signal, env) => {
    // The shell stays, as an interactive one would: the terminal does not go away with nx.
    const session = terminalSession(`sh -c '${NX} run fixture:ssh; sleep 600'`, { cwd: ws.root, env: testEnv(env) });
    const ofNx = () => processesWorkingIn(ws.root).filter((p) => /\bnode\b|^ssh /.test(p.args));
    try {
      session.type('echo shell-$((40 + 2))\n');
      await session.waitFor(/shell-42/, 120_000);
      const nx = ofNx().filter((p) => p.args.endsWith(' run fixture:ssh'));
      expect(nx).toHaveLength(1);
      process.kill(nx[0].pid, signal);
      await until(() => ofNx().length === 0, 30_000);
      expect(ofNx()).toEqual([]);
    } finally {
      session.end();
    }
  });

  it('keeps the private key 0600 in the instance folder and nowhere else: not in state.json, logs or output', () => {
    const key = join(vmDir, 'ssh_client_ed25519');
    const hostKey = join(vmDir, 'ssh_host_ed25519');
    for (const file of [key, hostKey]) expect(statSync(file).mode & 0o777).toBe(0o600);
    const secrets = [keyBody(key), keyBody(hostKey)];
    const state = readFileSync(join(vmDir, 'state.json'), 'utf8');
    expect(JSON.parse(state).ssh).toEqual({ key, knownHosts: join(vmDir, 'known_hosts'), hostKeyAlias: 'nx-nixos-fixture-default' });
    for (const file of filesUnder(join(ws.root, 'artifacts')).filter((f) => f !== key && f !== hostKey)) {
      const text = readFileSync(file, 'latin1');
      for (const secret of secrets) expect({ file, leaks: text.includes(secret) }).toEqual({ file, leaks: false });
    }
    const printed = ws.nx(['run', 'fixture:ssh', '--print']);
    for (const secret of secrets) expect(printed.output).not.toContain(secret);
  });

  it('gives a second instance its own key (the first one\'s is refused there) and asks which one to use', () => {
    const second = ws.nx(['run', 'fixture:start', '--instance', 'b']);
    expect(second.code).toBe(0);
    const ambiguous = ws.nx(['run', 'fixture:ssh', '--', 'true']);
    expect(ambiguous.code).not.toBe(0);
    expect(ambiguous.output).toContain('fixture has 2 running instances (b, default); choose one with --instance NAME.');

    const onB = ws.nx(['run', 'fixture:ssh', '--', '--instance', 'b', '--', 'echo', 'on b']);
    expect(onB.output).toContain('on b');
    expect(onB.code).toBe(0);
    // Without `--`, options lead the command.
    const hostname = ws.nx(['run', 'fixture:ssh', '--instance', 'b', 'cat', '/proc/sys/kernel/hostname']);
    expect(hostname.code).toBe(0);

    const bDir = join(ws.root, 'artifacts/vms/fixture/b');
    const bPort = JSON.parse(readFileSync(join(bDir, 'state.json'), 'utf8')).ports.find((p: { guest: number }) => p.guest === FIXTURE_SSH_PORT).host;
    const common = ['-F', 'none', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(bDir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlias=nx-nixos-fixture-b', '-p', String(bPort)];
    const withAsKey = spawnSync('ssh', [...common, '-i', join(vmDir, 'ssh_client_ed25519'), 'root@127.0.0.1', 'true'], { encoding: 'utf8' });
    expect(withAsKey.status).toBe(255);
    expect(withAsKey.stderr).toContain('Permission denied');
    const withBsKey = spawnSync('ssh', [...common, '-i', join(bDir, 'ssh_client_ed25519'), 'root@127.0.0.1', 'true'], { encoding: 'utf8' });
    expect(withBsKey.status).toBe(0);
    expect(ws.nx(['run', 'fixture:stop', '--instance', 'b', '--grace-seconds', '0']).code).toBe(0);
  });

  it('refuses a guest whose host key is not the pinned one', () => {
    const other = mkdtempSync(join(tmpdir(), 'nx-nixos-otherkey-'));
    try {
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(other, 'k')]);
      const [type, body] = readFileSync(join(other, 'k.pub'), 'utf8').split(' ');
      writeFileSync(join(vmDir, 'known_hosts'), `nx-nixos-fixture-default ${type} ${body}\n`);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const refused = ws.nx(['run', 'fixture:ssh', '--', '--instance', 'default', '--', 'sh', '-c', 'echo ran-$((40 + 2))']);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain('Host key verification failed');
    expect(refused.output).not.toContain('ran-42');
  });
});
