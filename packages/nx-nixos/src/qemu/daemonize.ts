import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readSync, statSync } from 'node:fs';

export interface QemuBinary {
  path: string;
  /** Named by NX_NIXOS_QEMU rather than found on PATH. */
  fromEnv: boolean;
}

/** The QEMU to run: NX_NIXOS_QEMU when set, else qemu-system-x86_64 from PATH. Read at each launch. */
export function qemuBinary(): QemuBinary {
  const configured = process.env.NX_NIXOS_QEMU;
  return configured ? { path: configured, fromEnv: true } : { path: 'qemu-system-x86_64', fromEnv: false };
}
export const QEMU_BINARY = qemuBinary().path;

export interface DaemonizeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the first QEMU process printed (it is also appended to qemu.log when that can be written). */
  output: string;
  /** Why qemu.log could not be written. */
  logError?: string;
}

/**
 * Runs QEMU with -daemonize: the first process exits once the VM is set up (non-zero if setup failed) and
 * the VM runs on outside our process tree, so Nx stopping the task (it signals the whole tree) cannot kill it
 * before the graceful shutdown has run. Its output is kept in memory too: on a full disk qemu.log stays empty.
 */
export function daemonizeQemu(binary: QemuBinary, argv: string[], qemuLog: string): Promise<DaemonizeResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(binary.path, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let logError: string | undefined;
    const save = (chunk: Buffer | string) => {
      output += chunk.toString();
      try {
        appendFileSync(qemuLog, chunk, { mode: 0o600 });
      } catch (e) {
        logError ??= (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      }
    };
    save('');
    child.stdout.on('data', save);
    child.stderr.on('data', save);
    child.once('error', (e: NodeJS.ErrnoException) => reject(spawnFailure(binary, e)));
    child.once('exit', (code, signal) => {
      const finish = () => resolvePromise({ code, signal, output, logError });
      // The daemon closes its copy of the pipes before the first process exits; a wrapper might not.
      const cap = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 2_000);
      child.once('close', () => {
        clearTimeout(cap);
        finish();
      });
    });
  });
}

/**
 * Starts a program that runs QEMU in the foreground (a development VM's run script, which execs QEMU with
 * -nographic, and -nographic cannot be combined with -daemonize) the way -daemonize leaves QEMU: through
 * `setsid --fork`, in a session of its own and outside our process tree, so Nx stopping the task (it signals
 * the whole tree) cannot kill it before the graceful shutdown has run. Its output is appended to qemuLog.
 * Resolves with code 0 once `isUp` says QEMU serves its QMP socket, or with code 1 once `isRunning` says
 * none of its processes is left (it failed; why is in its output).
 */
export function startDetached(
  program: string,
  env: Record<string, string>,
  qemuLog: string,
  probes: { isUp: () => Promise<boolean>; isRunning: () => boolean },
  timeoutMs = 120_000,
): Promise<DaemonizeResult> {
  return new Promise((resolvePromise, reject) => {
    const logStart = fileSize(qemuLog);
    const fd = openSync(qemuLog, 'a', 0o600);
    const child = spawn('setsid', ['--fork', program], { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    closeSync(fd);
    let forked = false;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, note = '') => {
      if (settled) return;
      settled = true;
      resolvePromise({ code, signal, output: readFrom(qemuLog, logStart) + note });
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      settled = true;
      reject(e.code === 'ENOENT' ? new Error('setsid was not found on PATH (it comes with util-linux): it starts the development VM in a session of its own.') : e);
    });
    child.once('exit', (code, signal) => {
      if (code === 0) forked = true;
      else finish(code, signal);
    });
    const deadline = Date.now() + timeoutMs;
    const poll = async () => {
      while (!settled) {
        if (forked) {
          if (await probes.isUp().catch(() => false)) return finish(0, null);
          if (!probes.isRunning()) return finish(1, null, `\n${program} exited before QEMU served its QMP socket.`);
        }
        if (Date.now() > deadline) return finish(null, null, `\n${program} did not bring up QEMU's QMP socket within ${timeoutMs / 1000} s.`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    void poll();
  });
}

const fileSize = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

function readFrom(file: string, offset: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.max(0, Math.min(fileSize(file) - offset, 64 * 1024)));
      readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.toString();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

const HOSTFWD_FAILURE = /Could not set up host forwarding rule '?tcp:127\.0\.0\.1:(\d+)/g;

/** The host ports QEMU said it could not forward (another process bound them after they were checked). */
export function unboundHostPorts(output: string): number[] {
  return [...output.matchAll(HOSTFWD_FAILURE)].map((m) => Number(m[1]));
}

const binaryName = (binary: QemuBinary) => (binary.fromEnv ? `NX_NIXOS_QEMU=${binary.path}` : binary.path);

function spawnFailure(binary: QemuBinary, e: NodeJS.ErrnoException): Error {
  if (e.code === 'ENOENT')
    return new Error(
      binary.fromEnv
        ? `NX_NIXOS_QEMU=${binary.path}: no such program. Point NX_NIXOS_QEMU at a QEMU system emulator (e.g. /usr/bin/qemu-system-x86_64), or unset it to use qemu-system-x86_64 from PATH.`
        : `${binary.path} was not found on PATH. Install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86), or set NX_NIXOS_QEMU to its path.`,
    );
  if (e.code === 'EACCES') return new Error(`${binaryName(binary)}: not an executable program (EACCES).`);
  return new Error(`${binaryName(binary)} could not be started: ${e.message}`);
}

/** Why QEMU did not start: how it ended, the end of what it said, and where the rest is. */
export function startFailure(binary: QemuBinary, result: DaemonizeResult, qemuLog: string): string {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
  const said = result.output.trim();
  const lines = [`QEMU failed to start: ${binaryName(binary)} ${how}${said ? ' and said:' : ' without printing anything.'}`];
  if (said) lines.push(said.split('\n').slice(-15).join('\n'));
  if (result.logError) lines.push(`Its output could not be saved to ${qemuLog} (${result.logError}).`);
  else if (said) lines.push(`Full output: ${qemuLog}`);
  if (!said && binary.fromEnv) lines.push('NX_NIXOS_QEMU is set: check that it names a QEMU system emulator, or unset it to use qemu-system-x86_64 from PATH.');
  return lines.join('\n');
}
