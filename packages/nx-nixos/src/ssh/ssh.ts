/**
 * Everything that runs OpenSSH's tools (ssh-keygen, ssh): the per-instance identity and the command that
 * reaches the guest with it. Processes get argument arrays, never a shell.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic';
import type { SecretFile } from '../qemu/argv';

/** systemd's own credential name: systemd-tmpfiles writes it to /root/.ssh/authorized_keys. */
export const AUTHORIZED_KEYS_CREDENTIAL = 'ssh.authorized_keys.root';
/** The guest's SSH host key (OpenSSH format); the RAVE flake installs it as /etc/ssh/ssh_host_ed25519_key. */
export const HOST_KEY_CREDENTIAL = 'nx-nixos.ssh.host_key';
/** Credential names the plugin sets itself; `--secret` cannot take them. */
export const SSH_CREDENTIALS: readonly string[] = [AUTHORIZED_KEYS_CREDENTIAL, HOST_KEY_CREDENTIAL];
/** The guest port sshd listens on. */
export const SSH_GUEST_PORT = 22;

/** The SSH files of one instance, all in its folder. */
export interface SshFiles {
  /** The client's private key (0600): the only copy of the identity. */
  key: string;
  publicKey: string;
  /** The guest's private host key (0600), handed to the guest as a credential. */
  hostKey: string;
  hostPublicKey: string;
  /** One line: the host key under the instance's alias; ssh checks the guest against it. */
  knownHosts: string;
}

export const sshFiles = (instanceDir: string): SshFiles => ({
  key: join(instanceDir, 'ssh_client_ed25519'),
  publicKey: join(instanceDir, 'ssh_client_ed25519.pub'),
  hostKey: join(instanceDir, 'ssh_host_ed25519'),
  hostPublicKey: join(instanceDir, 'ssh_host_ed25519.pub'),
  knownHosts: join(instanceDir, 'known_hosts'),
});

/** The name known_hosts holds the host key under: the same whatever host port the instance gets. */
export const hostKeyAlias = (profile: string, instance: string) => `nx-nixos-${profile}-${instance}`;

/** True when `path` is a regular file (not a symlink, which could point anywhere). */
const isRegularFile = (path: string) => {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
};

function keygen(file: string, comment: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? 'ssh-keygen is not installed: install OpenSSH\'s client (Debian: apt-get install openssh-client) to get an SSH identity per instance.' : `ssh-keygen: ${result.error.message}`);
  }
  if (result.status !== 0) throw new Error(`ssh-keygen -f ${file} failed (${result.status}): ${result.stderr.trim()}`);
  chmodSync(file, 0o600);
}

/** A key pair is kept when both halves are regular files and the private one is 0600. */
const keyPairIsSound = (file: string) => isRegularFile(file) && isRegularFile(`${file}.pub`) && (lstatSync(file).mode & 0o077) === 0;

/**
 * Makes sure the instance has its client key pair and guest host key pair (generated once, kept with the
 * instance) and a known_hosts that pins the host key. Returns the credentials that hand the public client
 * key and the host key to the guest. Key contents are never logged.
 */
export function ensureSshIdentity(files: SshFiles, alias: string): { credentials: SecretFile[]; generated: boolean } {
  let generated = false;
  if (!keyPairIsSound(files.key)) {
    keygen(files.key, `nx-nixos@${alias}`);
    generated = true;
  }
  if (!keyPairIsSound(files.hostKey)) {
    keygen(files.hostKey, alias);
    generated = true;
  }
  writeFileAtomic(files.knownHosts, knownHostsLine(alias, readFileSync(files.hostPublicKey, 'utf8')), 0o600);
  return {
    credentials: [
      { name: AUTHORIZED_KEYS_CREDENTIAL, file: files.publicKey },
      { name: HOST_KEY_CREDENTIAL, file: files.hostKey },
    ],
    generated,
  };
}

/** `<alias> <type> <key>`: the comment of the public key is dropped. */
export function knownHostsLine(alias: string, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  if (!type || !key) throw new Error(`Not an SSH public key: expected "<type> <base64>"`);
  return `${alias} ${type} ${key}\n`;
}

export interface SshTarget {
  files: SshFiles;
  alias: string;
  /** The host port forwarded to the guest's port 22, on 127.0.0.1. */
  port: number;
  user?: string;
}

/**
 * The ssh command line (without the program): only the instance's key, the pinned host key and no prompt
 * for anything. `-F none` keeps the user's ssh config out, so the same command works everywhere.
 */
export function sshArgv(target: SshTarget, command: readonly string[] = [], options: { tty?: boolean } = {}): string[] {
  const argv = [
    '-F', 'none',
    '-i', target.files.key,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', `UserKnownHostsFile=${target.files.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `HostKeyAlias=${target.alias}`,
    '-o', 'UpdateHostKeys=no',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-p', String(target.port),
  ];
  if (options.tty) argv.push('-t');
  argv.push(`${target.user ?? 'root'}@127.0.0.1`);
  // ssh joins its arguments into one line for the guest's shell: quoting each word keeps them words.
  if (command.length) argv.push('--', shellLine(command));
  return argv;
}

/** The same options for scp (which spells the port -P). */
export function scpArgv(target: SshTarget): string[] {
  return sshArgv(target).slice(0, -1).map((arg, i, all) => (arg === '-p' && all[i - 1] !== '-o' ? '-P' : arg));
}

/** A POSIX shell word: what --print shows, so that it can be pasted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export const shellLine = (words: readonly string[]) => words.map(shellQuote).join(' ');

/** How long ssh has to end after it was asked to (SIGHUP) before it is killed. */
const SSH_END_GRACE_MS = 5_000;

/**
 * Runs ssh with the terminal passed through; resolves with its exit code (255 is ssh's own failure).
 * When `stop` aborts (the terminal went away, the task was stopped), ssh gets SIGHUP, as from a closed
 * terminal: it restores the terminal's modes and ends; SIGKILL follows if it has not ended within 5 s.
 */
export function runSsh(argv: readonly string[], stop?: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', argv, { stdio: 'inherit' });
    let killTimer: NodeJS.Timeout | undefined;
    const end = () => {
      child.kill('SIGHUP');
      killTimer = setTimeout(() => child.kill('SIGKILL'), SSH_END_GRACE_MS);
    };
    if (stop?.aborted) end();
    else stop?.addEventListener('abort', end, { once: true });
    const settle = () => {
      clearTimeout(killTimer);
      stop?.removeEventListener('abort', end);
    };
    child.on('error', (e) => {
      settle();
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('ssh is not installed: install OpenSSH\'s client (Debian: apt-get install openssh-client).') : e);
    });
    child.on('exit', (code, signal) => {
      settle();
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1));
    });
  });
}

/**
 * Runs ssh with `input` on its stdin (then closed) and its output read line by line: each line goes to
 * `onLine` (stdout or stderr), never straight to the terminal, so that the caller can mask it.
 */
export function runSshWithInput(argv: readonly string[], input: Buffer, onLine: (line: string, stream: 'stdout' | 'stderr') => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', (e) =>
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('ssh is not installed: install OpenSSH\'s client (Debian: apt-get install openssh-client).') : e),
    );
    // The guest may stop reading early (no hook there): its exit code says why, not the broken pipe.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const pending = { stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        const lines = (pending[stream] + chunk).split('\n');
        pending[stream] = lines.pop() ?? '';
        for (const line of lines) onLine(line, stream);
      });
    }
    child.on('close', (code, signal) => {
      for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) onLine(pending[stream], stream);
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1));
    });
  });
}

const signalNumber = (signal: NodeJS.Signals) => (({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }) as Partial<Record<NodeJS.Signals, number>>)[signal];

/** True when every file ssh needs is there: the instance was started with an SSH identity. */
export const hasSshIdentity = (files: SshFiles) => existsSync(files.key) && existsSync(files.knownHosts);
