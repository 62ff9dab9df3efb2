import { createServer, type Server } from 'node:net';
import { allocatePorts, isPortFree, PortsBusyError } from './ports';

const wanted = [
  { name: 'http', guest: 80, host: 18080 },
  { name: 'ssh', guest: 22, host: 12222 },
];

describe('allocatePorts', () => {
  it('keeps free preferred ports', async () => {
    const result = await allocatePorts(wanted, { isFree: async () => true });
    expect(result.ports.map((p) => p.host)).toEqual([18080, 12222]);
    expect(result.replaced).toEqual([]);
  });

  it('replaces a busy port with the next free one above it and reports it', async () => {
    const busy = new Set([18080, 18081]);
    const result = await allocatePorts(wanted, { isFree: async (p) => !busy.has(p) });
    expect(result.ports).toEqual([
      { name: 'http', guest: 80, requested: 18080, host: 18082 },
      { name: 'ssh', guest: 22, requested: 12222, host: 12222 },
    ]);
    expect(result.replaced.map((p) => p.name)).toEqual(['http']);
  });

  it('never hands out the same port twice or one to avoid', async () => {
    const result = await allocatePorts(
      [
        { name: 'a', guest: 1, host: 20000 },
        { name: 'b', guest: 2, host: 20000 },
      ],
      { isFree: async () => true, avoid: new Set([20001]) },
    );
    expect(result.ports.map((p) => p.host)).toEqual([20000, 20002]);
  });

  it('with strict ports, names every busy port and the way out', async () => {
    const error = await allocatePorts(wanted, { strict: true, isFree: async () => false, profile: 'development' }).catch((e) => e);
    expect(error).toBeInstanceOf(PortsBusyError);
    expect(error.message).toContain('18080 (http), 12222 (ssh) are in use on 127.0.0.1');
    expect(error.message).toContain('npx nx run development:status');
    expect(error.message).not.toContain('<profile>');
    expect(error.message).toContain('without --strict-ports');
  });

  it('sees a port bound on 127.0.0.1 as busy', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1' }, () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await isPortFree(port)).toBe(false);
      const result = await allocatePorts([{ name: 'web', guest: 80, host: port }]);
      expect(result.ports[0].host).not.toBe(port);
      expect(await isPortFree(result.ports[0].host)).toBe(true);
    } finally {
      server.close();
    }
  });
});
