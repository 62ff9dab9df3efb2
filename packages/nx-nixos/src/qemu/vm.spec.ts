import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileSchema } from '../profile/schema';
import { timeoutMessage } from './readiness';
import { chooseAccelerator, parseSecrets, serviceUrls } from './vm';

describe('parseSecrets', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nx-nixos-secrets-'));
    writeFileSync(join(dir, 'age.txt'), 'AGE-SECRET-KEY-1');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves NAME=FILE relative to the working directory without reading the file', () => {
    expect(parseSecrets(['sops-age-key=age.txt'], dir)).toEqual([{ name: 'sops-age-key', file: join(dir, 'age.txt') }]);
  });

  it('rejects malformed values, bad names, duplicates and unreadable files precisely', () => {
    expect(() => parseSecrets(['age.txt'], dir)).toThrow('--secret "age.txt": expected NAME=FILE');
    expect(() => parseSecrets(['a/b=age.txt'], dir)).toThrow('--secret a/b: a credential name holds');
    expect(() => parseSecrets(['k=age.txt', 'k=age.txt'], dir)).toThrow('--secret k: given twice');
    expect(() => parseSecrets(['k=missing.txt'], dir)).toThrow(`--secret k: cannot read ${join(dir, 'missing.txt')} (ENOENT)`);
    expect(() => parseSecrets(['k=.'], dir)).toThrow('not a regular file');
  });
});

describe('chooseAccelerator', () => {
  it('falls back to TCG with a warning and a fix when KVM is unusable', () => {
    const choice = chooseAccelerator('auto', '/nonexistent/kvm');
    expect(choice.accel).toBe('tcg');
    expect(choice.warning).toContain('KVM is not usable (/nonexistent/kvm does not exist): using TCG');
  });
  it('honours a forced accelerator, and says why a forced KVM cannot work', () => {
    expect(chooseAccelerator('tcg', '/nonexistent/kvm')).toEqual({ accel: 'tcg' });
    expect(() => chooseAccelerator('kvm', '/nonexistent/kvm')).toThrow('--accel kvm: KVM is not usable: /nonexistent/kvm does not exist');
  });
});

describe('serviceUrls', () => {
  it('lists enabled services only, with the assigned host ports', () => {
    const profile = profileSchema.parse({
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
    });
    const ports = [
      { name: 'https', guest: 443, requested: 8443, host: 8444 },
      { name: 'ssh', guest: 22, requested: 2224, host: 2224 },
    ];
    expect(serviceUrls(profile, ports)).toEqual([
      { name: 'GitLab', url: 'https://127.0.0.1:8444/gitlab/' },
      { name: 'SSH', url: 'ssh://127.0.0.1:2224' },
    ]);
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
