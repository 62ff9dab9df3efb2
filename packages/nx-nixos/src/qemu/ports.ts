import { createServer } from 'node:net';
import type { ForwardedPort } from '../profile/schema';

export interface AssignedPort {
  name: string;
  guest: number;
  /** The port the profile asks for. */
  requested: number;
  /** The port in use on 127.0.0.1. */
  host: number;
}

/** True when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel picks as free right now. */
function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class PortsBusyError extends Error {
  constructor(readonly busy: ForwardedPort[], profile?: string) {
    super(
      `Host port${busy.length > 1 ? 's' : ''} ${busy.map((p) => `${p.host} (${p.name})`).join(', ')} ${busy.length > 1 ? 'are' : 'is'} in use on 127.0.0.1. ` +
        `Stop what uses ${busy.length > 1 ? 'them' : 'it'} (${profile ? `another instance shows in: npx nx run ${profile}:status` : 'e.g. another VM'}), or launch without --strict-ports to get free ports instead.`,
    );
    this.name = 'PortsBusyError';
  }
}

export interface PortAllocation {
  ports: AssignedPort[];
  /** Ports that were busy and replaced. */
  replaced: AssignedPort[];
}

/**
 * Keeps each preferred host port when it is free; replaces a busy one with the next free port above it
 * (as quickemu does), or with any free port. With `strict`, a busy port is an error instead.
 * `avoid` holds ports that must not be chosen (e.g. ones QEMU just failed to bind).
 */
export async function allocatePorts(
  wanted: readonly ForwardedPort[],
  options: { strict?: boolean; avoid?: ReadonlySet<number>; isFree?: (port: number) => Promise<boolean>; profile?: string } = {},
): Promise<PortAllocation> {
  const isFree = options.isFree ?? isPortFree;
  const taken = new Set<number>(options.avoid ?? []);
  const usable = async (port: number) => port <= 65535 && !taken.has(port) && (await isFree(port));
  const busy: ForwardedPort[] = [];
  const ports: AssignedPort[] = [];
  for (const p of wanted) {
    if (await usable(p.host)) {
      taken.add(p.host);
      ports.push({ name: p.name, guest: p.guest, requested: p.host, host: p.host });
      continue;
    }
    busy.push(p);
    ports.push({ name: p.name, guest: p.guest, requested: p.host, host: 0 });
  }
  if (busy.length && options.strict) throw new PortsBusyError(busy, options.profile);
  for (const port of ports.filter((p) => p.host === 0)) {
    let candidate = 0;
    for (let next = port.requested + 1; next <= Math.min(port.requested + 100, 65535); next++)
      if (await usable(next)) {
        candidate = next;
        break;
      }
    while (candidate === 0) {
      const any = await ephemeralPort();
      if (!taken.has(any)) candidate = any;
    }
    taken.add(candidate);
    port.host = candidate;
  }
  return { ports, replaced: ports.filter((p) => p.host !== p.requested) };
}
