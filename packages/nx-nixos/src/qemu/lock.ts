import { createHash } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { resolve } from 'node:path';

/** Who holds an instance lock, as it says itself. */
export interface LockOwner {
  pid: number;
  /** What it is doing, e.g. "nx run development:start". */
  purpose: string;
  since: string;
}

/** How long stop (and a launcher recording readiness) waits for another process that is starting or stopping the instance. */
export const LOCK_WAIT_MS = 60_000;

export interface InstanceLock {
  release(): Promise<void>;
}

export class InstanceBusyError extends Error {
  constructor(message: string, readonly owner: LockOwner | undefined) {
    super(message);
    this.name = 'InstanceBusyError';
  }
}

/**
 * The lock of an instance folder is a unix socket in Linux's abstract namespace: binding it is atomic, and
 * the kernel releases it when its owner exits however it exits, so a killed launcher never leaves a stale
 * lock behind. (It is shared by the processes of one network namespace, i.e. one machine or container.)
 */
const lockAddress = (dir: string) => `\0nx-nixos-instance-${createHash('sha256').update(resolve(dir)).digest('hex').slice(0, 40)}`;

export const describeOwner = (owner: LockOwner | undefined) =>
  owner ? `PID ${owner.pid} (${owner.purpose}, since ${owner.since})` : 'another process (it did not say which)';

function listen(address: string, owner: LockOwner): Promise<Server | undefined> {
  return new Promise((done, fail) => {
    const server = createServer((socket) => socket.end(JSON.stringify(owner)));
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? done(undefined) : fail(e)));
    server.listen(address, () => {
      // Holding the lock must not keep the process alive.
      server.unref();
      done(server);
    });
  });
}

/** Asks the holder who it is; 'free' when nobody holds it any more. */
function askOwner(address: string): Promise<LockOwner | 'free' | undefined> {
  return new Promise((done) => {
    let data = '';
    const socket = connect(address);
    const timer = setTimeout(() => finish(undefined), 1_000);
    const finish = (value: LockOwner | 'free' | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      done(value);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => {
      try {
        finish(JSON.parse(data) as LockOwner);
      } catch {
        finish(undefined);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 'free' : undefined));
  });
}

/** Takes the lock of an instance folder, or says who holds it. */
export async function tryLockInstance(dir: string, purpose: string): Promise<{ lock: InstanceLock } | { owner: LockOwner | undefined }> {
  const address = lockAddress(dir);
  const me: LockOwner = { pid: process.pid, purpose, since: new Date().toISOString() };
  for (;;) {
    const server = await listen(address, me);
    if (server) return { lock: { release: () => new Promise<void>((done) => server.close(() => done())) } };
    const owner = await askOwner(address);
    if (owner !== 'free') return { owner };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock, waiting up to `waitMs` for its holder; throws InstanceBusyError naming the holder. */
export async function lockInstance(
  dir: string,
  purpose: string,
  options: { waitMs?: number; what: string; onWait?: (owner: LockOwner | undefined) => void },
): Promise<InstanceLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  let told = false;
  for (;;) {
    const got = await tryLockInstance(dir, purpose);
    if ('lock' in got) return got.lock;
    if (Date.now() >= deadline)
      throw new InstanceBusyError(
        `${options.what} is busy: ${describeOwner(got.owner)} is starting or stopping it. Wait for that to finish, then try again.`,
        got.owner,
      );
    if (!told) options.onWait?.(got.owner);
    told = true;
    await sleep(200);
  }
}
