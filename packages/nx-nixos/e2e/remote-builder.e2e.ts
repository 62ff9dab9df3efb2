import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(600_000);

const BUILDER = 'rave-builder';
const URI = `ssh-ng://${BUILDER}`;

/** Absolute path of a program on PATH: sshd refuses to start from a relative one. */
function which(program: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      continue;
    }
  }
  throw new Error(`${program} is not on PATH`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** sshd in the foreground, logging to a file (the tests block the event loop while nx runs). */
async function startSshd(config: string, logFile: string): Promise<ChildProcess> {
  const child = spawn(which('sshd'), ['-D', '-E', logFile, '-f', config], { stdio: 'ignore' });
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (/Server listening on 127\.0\.0\.1/.test(log())) return child;
    if (exited !== undefined) throw new Error(`sshd exited with ${exited}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error(`sshd did not start in 10 s:\n${log()}`);
}

/**
 * A second machine on loopback: sshd with its own host key and config, accepting one throwaway client key
 * whose forced command runs `nix-daemon --stdio` over a separate store (a private mount namespace binds a
 * folder over /nix: sharing this host's store with the client deadlocks). The client reaches it as
 * ssh-ng://rave-builder through an ssh config passed in NIX_SSHOPTS; root's own ~/.ssh is never used.
 */
async function startBuilder(dir: string) {
  const file = (name: string) => join(dir, name);
  mkdirSync(file('nix'));
  for (const key of ['host_key', 'client_key']) {
    const keygen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', key, '-f', file(key)], { encoding: 'utf8' });
    if (keygen.status !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`);
  }
  writeFileSync(
    file('builder.sh'),
    `#!/bin/sh\nexec ${which('unshare')} -m sh -c 'mount --bind ${file('nix')} /nix && NIX_CONFIG="substituters =" exec ${which('nix-daemon')} --stdio'\n`,
  );
  chmodSync(file('builder.sh'), 0o755);
  writeFileSync(file('authorized_keys'), `command="${file('builder.sh')}",restrict ${readFileSync(file('client_key.pub'), 'utf8')}`);
  // sshd needs its privilege-separation folder, which Debian's service unit creates at start.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(
      file('sshd_config'),
      [
        'ListenAddress 127.0.0.1',
        `Port ${port}`,
        `HostKey ${file('host_key')}`,
        `AuthorizedKeysFile ${file('authorized_keys')}`,
        `PidFile ${file('sshd.pid')}`,
        'PermitRootLogin forced-commands-only',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        // The files live under /tmp, which is world-writable.
        'StrictModes no',
        'UsePAM no',
      ].join('\n') + '\n',
    );
    writeFileSync(
      file('ssh_config'),
      [
        ...[BUILDER, 'dead-builder'].flatMap((host) => [
          `Host ${host}`,
          '  HostName 127.0.0.1',
          // Port 9 (discard) has no listener here: a builder that cannot be reached.
          `  Port ${host === BUILDER ? port : 9}`,
          '  User root',
          `  IdentityFile ${file('client_key')}`,
          '  IdentitiesOnly yes',
          `  HostKeyAlias ${BUILDER}`,
          `  UserKnownHostsFile ${file('known_hosts')}`,
          '  GlobalKnownHostsFile /dev/null',
          '  StrictHostKeyChecking yes',
          '  BatchMode yes',
        ]),
      ].join('\n') + '\n',
    );
    writeFileSync(file('known_hosts'), `${BUILDER} ${readFileSync(file('host_key.pub'), 'utf8')}`);
    try {
      return { sshd: await startSshd(file('sshd_config'), file('sshd.log')), store: file('nix/store'), sshConfig: file('ssh_config') };
    } catch (e) {
      lastError = e; // the free port was taken in between: try another
    }
  }
  throw lastError;
}

const flakeWith = (nonce: string) =>
  hermeticFlake({
    packages: { development: `true ${nonce}; $bb mkdir $out; echo "building the development image"; echo disk > $out/nixos.qcow2` },
    checks: { smoke: `true ${nonce}; echo "smoke test ran"; echo ok > $out` },
  });

describeIfTools(['nix', 'nix-store', 'nix-daemon', 'git', 'sshd', 'ssh', 'ssh-keygen', 'unshare', 'mount'])('a remote builder reached over ssh-ng on loopback', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nx-nixos-builder-'));
  let builder: Awaited<ReturnType<typeof startBuilder>>;
  let ws: TestWorkspace;
  let env: NodeJS.ProcessEnv;
  const manifestFile = () => join(ws.root, 'artifacts/images/development/manifest.json');

  beforeAll(async () => {
    builder = await startBuilder(tmp);
    env = { NIX_SSHOPTS: `-F ${builder.sshConfig}` };
    ws = createTestWorkspace({
      files: {
        'flake.nix': flakeWith(`${process.pid}-${Date.now()}`),
        'profiles/development/profile.json': profileJson(fixtureProfile('development', { tests: ['smoke'] })),
      },
      // Set once for every profile target in the plugin's options; no local build jobs, so every build
      // must go to the builder.
      pluginOptions: { sharing: { builders: `${URI} x86_64-linux`, maxJobs: 0 } },
    });
  });

  afterAll(() => {
    ws?.cleanup();
    builder?.sshd.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('build-image builds on the builder, copies the image back and says where it was built', () => {
    const built = ws.nx(['run', 'development:build-image'], { env });
    expect(built.code).toBe(0);
    expect(built.output).toMatch(/development: built 1 \(on ssh-ng:\/\/rave-builder\), substituted 0 in /);

    const manifest = JSON.parse(readFileSync(manifestFile(), 'utf8'));
    expect(ws.run('nix-store', ['--check-validity', manifest.storePath]).code).toBe(0);
    expect(readFileSync(join(manifest.storePath, 'nixos.qcow2'), 'utf8')).toBe('disk\n');
    // The builder's own store holds the output too: it was built there.
    expect(existsSync(join(builder.store, basename(manifest.storePath)))).toBe(true);

    const log = readFileSync(join(ws.root, 'artifacts/logs/development/build-image.log'), 'utf8');
    expect(log).toContain(`building ${manifest.drvPath} on ${URI}`);
    expect(log).toContain('development> building the development image');
    expect(readFileSync(join(tmp, 'sshd.log'), 'utf8')).toContain('Root login accepted for forced command');
  });

  it('vm-test builds its checks on the builder and names it', () => {
    const tested = ws.nx(['run', 'development:vm-test'], { env });
    expect(tested.code).toBe(0);
    expect(tested.output).toMatch(/smoke: passed \(1 derivation\(s\) built\) on ssh-ng:\/\/rave-builder/);
    expect(readFileSync(join(ws.root, 'artifacts/tests/development/smoke.log'), 'utf8')).toContain('smoke> smoke test ran');
  });

  it('a plugin option "sharing" that does not fit fails the graph with the key and the reason', () => {
    const nxJsonFile = join(ws.root, 'nx.json');
    const good = readFileSync(nxJsonFile, 'utf8');
    const nxJson = JSON.parse(good);
    nxJson.plugins[0].options.sharing.maxJobs = 'none';
    ws.write('nx.json', JSON.stringify(nxJson, null, 2));
    try {
      const shown = ws.nx(['show', 'projects']);
      expect(shown.code).not.toBe(0);
      expect(shown.output).toMatch(/nx\.json: option "sharing\.maxJobs" of plugin @rave\/nx-nixos is invalid: .*number/);
    } finally {
      ws.write('nx.json', good);
    }
  });

  it('an unreachable builder fails the build with ssh\'s reason and a fix, and keeps the previous manifest unchanged', () => {
    const before = readFileSync(manifestFile(), 'utf8');
    ws.write('flake.nix', flakeWith(`changed-${process.pid}-${Date.now()}`));
    ws.commit('change the image');
    const failed = ws.nx(['run', 'development:build-image', '--builders=ssh-ng://dead-builder x86_64-linux'], { env });
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain("cannot build on 'ssh-ng://dead-builder'");
    expect(failed.output).toMatch(/ssh: connect to host 127\.0\.0\.1 port 9: Connection refused/);
    expect(failed.output).toContain('A remote builder could not be used.');
    // The image built before is still the one described; nothing of the failed build was recorded.
    expect(readFileSync(manifestFile(), 'utf8')).toBe(before);
  });
});
