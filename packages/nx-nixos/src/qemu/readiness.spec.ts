import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileSchema } from '../profile/schema';
import { httpStatusMatcher, pollForAnswer, timeoutMessage } from './readiness';

describe('readiness HTTP statuses', () => {
  it('accepts 2xx and 3xx by default, and the codes and classes readiness.acceptStatus lists', () => {
    const byDefault = httpStatusMatcher();
    expect([200, 204, 302, 404, 500, 502].map(byDefault)).toEqual([true, true, true, false, false, false]);
    expect(byDefault.text).toBe('2xx, 3xx');
    const withAuth = httpStatusMatcher(['2xx', 401]);
    expect([200, 401, 403, 302].map(withAuth)).toEqual([true, true, false, false]);
  });

  it('profile.json: acceptStatus defaults to 2xx and 3xx and takes only status codes and classes', () => {
    const base = {
      name: 'web',
      description: 'd',
      flake: { attribute: 'web' },
      image: { kind: 'disk', file: 'nixos.qcow2' },
      resources: { memoryMiB: 256, cpus: 1, diskGiB: 1 },
      ports: [{ name: 'http', guest: 80, host: 8080 }],
    };
    expect(profileSchema.parse({ ...base, readiness: { port: 'http', probe: 'http' } }).readiness?.acceptStatus).toEqual(['2xx', '3xx']);
    expect(profileSchema.safeParse({ ...base, readiness: { port: 'http', probe: 'http', acceptStatus: ['2xx', 401] } }).success).toBe(true);
    expect(profileSchema.safeParse({ ...base, readiness: { port: 'http', probe: 'http', acceptStatus: ['200'] } }).success).toBe(false);
    expect(profileSchema.safeParse({ ...base, readiness: { port: 'http', probe: 'http', acceptStatus: [99] } }).success).toBe(false);
  });

  describe('against a real HTTP server', () => {
    let server: Server;
    let port: number;
    let status = 502;
    beforeAll(async () => {
      server = createServer((_, res) => res.writeHead(status).end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => server.close());

    it('keeps waiting through a 502 (a proxy whose backend is starting) and a 404, and takes the first 2xx', async () => {
      const rejected: string[] = [];
      const waiting = pollForAnswer({ kind: 'http', port, path: '/' }, { deadline: Date.now() + 5_000, intervalMs: 50, onRejected: (a) => rejected.push(a) });
      await new Promise((r) => setTimeout(r, 300));
      status = 404;
      await new Promise((r) => setTimeout(r, 300));
      status = 200;
      expect(await waiting).toBe('HTTP/1.1 200 OK');
      expect(rejected).toContain('HTTP/1.1 502 Bad Gateway');
      expect(rejected).toContain('HTTP/1.1 404 Not Found');
    });

    it('gives up at the deadline when only unaccepted statuses come', async () => {
      status = 503;
      expect(await pollForAnswer({ kind: 'http', port, path: '/' }, { deadline: Date.now() + 500, intervalMs: 50 })).toBeUndefined();
    });
  });
});

describe('timeoutMessage', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'nx-nixos-timeout-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('flags KVM when the guest printed nothing, and suggests --accel tcg', () => {
    const serialLog = join(dir, 'empty.log');
    writeFileSync(serialLog, '');
    const message = timeoutMessage({ timeoutMs: 600_000, probe: { kind: 'ssh-banner', port: 2224 }, serialLog, accel: 'kvm' }, 'QMP running');
    expect(message).toContain('The VM was not ready after 600 s. Reached: QMP running; no SSH banner on 127.0.0.1:2224 yet.');
    expect(message).toContain(`Serial log: ${serialLog}`);
    expect(message).toContain('KVM looks unusable on this host. Try again with --accel tcg.');
  });

  it('quotes the end of the serial log when the guest did print', () => {
    const serialLog = join(dir, 'boot.log');
    writeFileSync(serialLog, 'line 1\nStarting nginx...\n');
    const message = timeoutMessage({ timeoutMs: 30_000, probe: { kind: 'http', port: 8443 }, serialLog, accel: 'tcg' }, 'process alive');
    expect(message).toContain('Reached: process alive; QMP never reported the VM running.');
    expect(message).toContain('Starting nginx...');
    expect(message).not.toContain('KVM');
  });
});
