import { connect, type Socket } from 'node:net';

/** A QMP error reply, e.g. { class: 'CommandNotFound', desc: '...' }. */
export class QmpError extends Error {
  constructor(readonly command: string, readonly errorClass: string, desc: string) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * A minimal QMP client over QEMU's unix socket: line-delimited JSON, one greeting, capabilities
 * negotiation, commands matched to replies by id, events recorded.
 */
export class QmpClient {
  readonly events: { event: string; data?: unknown }[] = [];
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {}

  static connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const client = new QmpClient(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`QMP ${path}: no greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      let greeted = false;
      socket.setEncoding('utf8');
      socket.once('error', (e) => {
        clearTimeout(timer);
        if (!greeted) reject(e);
      });
      socket.on('error', (e) => client.fail(e));
      socket.on('close', () => client.fail(new Error('QMP connection closed')));
      socket.on('data', (chunk: string) => {
        client.buffer += chunk;
        let nl: number;
        while ((nl = client.buffer.indexOf('\n')) >= 0) {
          const line = client.buffer.slice(0, nl).trim();
          client.buffer = client.buffer.slice(nl + 1);
          if (!line) continue;
          let message: Record<string, unknown>;
          try {
            message = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          if (!greeted && 'QMP' in message) {
            greeted = true;
            client
              .execute('qmp_capabilities')
              .then(() => {
                clearTimeout(timer);
                resolve(client);
              })
              .catch((e) => {
                clearTimeout(timer);
                reject(e as Error);
              });
            continue;
          }
          client.dispatch(message);
        }
      });
    });
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.socket.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private dispatch(message: Record<string, unknown>): void {
    if (typeof message.event === 'string') {
      this.events.push({ event: message.event, data: message.data });
      return;
    }
    const id = typeof message.id === 'string' ? message.id : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending || id === undefined) return;
    this.pending.delete(id);
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      pending.reject(new QmpError(pending.command, error.class ?? 'Error', error.desc ?? ''));
    } else pending.resolve(message.return);
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/** Connects, runs one command and disconnects. */
export async function qmpOnce<T = unknown>(socketPath: string, command: string, args?: Record<string, unknown>, timeoutMs = 5_000): Promise<T> {
  const client = await QmpClient.connect(socketPath, timeoutMs);
  try {
    return await client.execute<T>(command, args);
  } finally {
    client.close();
  }
}
