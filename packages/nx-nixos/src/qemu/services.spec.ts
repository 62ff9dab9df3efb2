import { profileSchema } from '../profile/schema';
import { readinessProbe, serviceUrls } from './services';

const development = (extra: Record<string, unknown> = {}) =>
  profileSchema.parse({
    name: 'development',
    description: 'dev',
    flake: { attribute: 'development' },
    image: { kind: 'disk', file: 'nixos.qcow2' },
    features: { gitlab: true, outline: false },
    resources: { memoryMiB: 1024, cpus: 1, diskGiB: 1 },
    ports: [
      { name: 'https', guest: 443, host: 8443 },
      { name: 'ssh', guest: 22, host: 2224 },
    ],
    services: [
      { name: 'GitLab', feature: 'gitlab', port: 'https', path: '/gitlab/' },
      { name: 'Outline', feature: 'outline', port: 'https', path: '/outline/' },
      { name: 'SSH', port: 'ssh', scheme: 'ssh' },
    ],
    ...extra,
  });

const ports = [
  { name: 'https', guest: 443, requested: 8443, host: 8444 },
  { name: 'ssh', guest: 22, requested: 2224, host: 2224 },
];

describe('serviceUrls', () => {
  it('lists enabled services only, with the assigned host ports', () => {
    expect(serviceUrls(development(), ports)).toEqual([
      { name: 'GitLab', url: 'https://127.0.0.1:8444/gitlab/' },
      { name: 'SSH', url: 'ssh://127.0.0.1:2224' },
    ]);
  });
});

describe('readinessProbe', () => {
  it('probes the assigned host port, with TLS when an https service is on it', () => {
    const probe = readinessProbe(development({ readiness: { port: 'https', probe: 'http', path: '/gitlab/', acceptStatus: ['2xx', 401] } }), ports);
    expect(probe).toMatchObject({ kind: 'http', port: 8444, path: '/gitlab/', tls: true });
    expect(probe?.accept?.text).toBe('2xx, 401');
  });
  it('never speaks TLS to an SSH banner, and gives no probe without profile.readiness', () => {
    expect(readinessProbe(development({ readiness: { port: 'ssh', probe: 'ssh-banner' } }), ports)).toMatchObject({ kind: 'ssh-banner', port: 2224, tls: false });
    expect(readinessProbe(development(), ports)).toBeUndefined();
  });
});
