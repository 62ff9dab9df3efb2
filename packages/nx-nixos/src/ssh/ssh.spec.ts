import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processesWhere } from '../testing/processes';
import { AUTHORIZED_KEYS_CREDENTIAL, ensureSshIdentity, HOST_KEY_CREDENTIAL, knownHostsLine, runSsh, scpArgv, shellLine, sshArgv, sshFiles } from './ssh';

describe('ensureSshIdentity', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'nx-nixos-ssh-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a 0600 client key and host key once, pins the host key in known_hosts and hands both to the guest', () => {
    const files = sshFiles(dir);
    const first = ensureSshIdentity(files, 'nx-nixos-dev-default');
    expect(first.generated).toBe(true);
    expect(first.credentials).toEqual([
      { name: AUTHORIZED_KEYS_CREDENTIAL, file: files.publicKey },
      { name: HOST_KEY_CREDENTIAL, file: files.hostKey },
    ]);
    for (const file of [files.key, files.hostKey, files.knownHosts]) expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(files.publicKey, 'utf8')).toMatch(/^ssh-ed25519 \S+ nx-nixos@nx-nixos-dev-default\n$/);
    const hostKey = readFileSync(files.hostPublicKey, 'utf8').split(' ')[1];
    expect(readFileSync(files.knownHosts, 'utf8')).toBe(`nx-nixos-dev-default ssh-ed25519 ${hostKey}\n`);

    const key = readFileSync(files.key, 'utf8');
    const again = ensureSshIdentity(files, 'nx-nixos-dev-default');
    expect(again.generated).toBe(false);
    expect(readFileSync(files.key, 'utf8')).toBe(key);
  });

  it('replaces a key that is readable by others, or a symlink, instead of using it', () => {
    const files = sshFiles(dir);
    ensureSshIdentity(files, 'a');
    const key = readFileSync(files.key, 'utf8');
    chmodSync(files.key, 0o644);
    expect(ensureSshIdentity(files, 'a').generated).toBe(true);
    expect(readFileSync(files.key, 'utf8')).not.toBe(key);
    expect(statSync(files.key).mode & 0o777).toBe(0o600);

    writeFileSync(join(dir, 'elsewhere'), 'not a key');
    rmSync(files.hostKey);
    symlinkSync(join(dir, 'elsewhere'), files.hostKey);
    expect(ensureSshIdentity(files, 'a').generated).toBe(true);
    expect(readFileSync(join(dir, 'elsewhere'), 'utf8')).toBe('not a key');
  });
});

describe('ssh command line', () => {
  const target = { files: sshFiles('/ws/artifacts/vms/dev/default'), alias: 'nx-nixos-dev-default', port: 2222 };

  it('uses only the instance key and the pinned host key, never asks, and never trusts an unknown host', () => {
    const argv = sshArgv(target, ['sh', '-c', 'exit 3']);
    expect(shellLine(['ssh', ...argv])).toBe(
      'ssh -F none -i /ws/artifacts/vms/dev/default/ssh_client_ed25519 -o IdentitiesOnly=yes -o IdentityAgent=none ' +
        '-o UserKnownHostsFile=/ws/artifacts/vms/dev/default/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes ' +
        "-o HostKeyAlias=nx-nixos-dev-default -o UpdateHostKeys=no -o BatchMode=yes -o LogLevel=ERROR -p 2222 root@127.0.0.1 -- 'sh -c '\\''exit 3'\\'''",
    );
    expect(argv.join(' ')).not.toMatch(/StrictHostKeyChecking=(no|accept-new)/);
  });

  it('gives scp the same options with its -P', () => {
    const argv = scpArgv(target);
    expect(argv.slice(-2)).toEqual(['-P', '2222']);
    expect(argv).toContain('HostKeyAlias=nx-nixos-dev-default');
    expect(argv).not.toContain('root@127.0.0.1');
  });

  it('quotes what a shell would split or expand', () => {
    expect(shellLine(['echo', "it's", '$HOME', 'a b', 'plain-word'])).toBe(`echo 'it'\\''s' '$HOME' 'a b' plain-word`);
  });

  it('rejects a public key without a type and key', () => {
    expect(() => knownHostsLine('a', 'garbage')).toThrow('Not an SSH public key');
    expect(knownHostsLine('a', 'ssh-ed25519 AAAA comment\n')).toBe('a ssh-ed25519 AAAA\n');
  });
});

describe('runSsh', () => {
  // A real ssh that waits for a server which never answers: its ProxyCommand stays silent.
  const marker = `nx-nixos-silent-proxy-${process.pid}`;
  const waiting = ['-F', 'none', '-o', 'BatchMode=yes', '-o', `ProxyCommand=sh -c 'sleep 60; : ${marker}'`, 'root@127.0.0.1', 'true'];
  const sshOf = () => processesWhere((cmdline) => cmdline.startsWith('ssh\0') && cmdline.includes(marker));
  afterEach(() => {
    for (const pid of processesWhere((cmdline) => cmdline.includes(marker))) process.kill(pid, 'SIGKILL');
  });

  it('ends ssh when asked to (the terminal went away, the task was stopped) and resolves with its status', async () => {
    const stop = new AbortController();
    const ended = runSsh(waiting, stop.signal);
    for (let i = 0; i < 100 && sshOf().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(sshOf()).toHaveLength(1);
    stop.abort();
    expect(await ended).toBe(128 + 1);
    expect(sshOf()).toEqual([]);
  });

  it('ends ssh at once when the run was stopped before it started', async () => {
    const stop = new AbortController();
    stop.abort();
    expect(await runSsh(waiting, stop.signal)).toBe(128 + 1);
  });
});
