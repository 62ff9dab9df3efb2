import type { InstanceInfo, InstanceState } from './instance';
import { describeInstance, formatDuration, instanceJson } from './status';

const state: InstanceState = {
  stateVersion: 1,
  profile: 'development',
  instance: 'default',
  pid: 4242,
  accel: 'tcg',
  startedAt: '2026-01-01T00:00:00.000Z',
  readyAt: '2026-01-01T00:00:05.000Z',
  ports: [
    { name: 'https', guest: 443, requested: 8443, host: 8444 },
    { name: 'ssh', guest: 22, requested: 2224, host: 2224 },
  ],
  urls: [
    { name: 'GitLab', url: 'https://127.0.0.1:8444/gitlab/' },
    { name: 'SSH', url: 'ssh://127.0.0.1:2224' },
  ],
  qmpSocket: '/ws/artifacts/vms/development/default/qmp.sock',
  serialLog: '/ws/artifacts/vms/development/default/serial.log',
  qemuLog: '/ws/artifacts/vms/development/default/qemu.log',
  image: { storePath: '/nix/store/aaaa-development', kind: 'disk' },
  secrets: [{ name: 'age', file: '/keys/age.txt' }],
  command: ['qemu-system-x86_64'],
};
const paths = { dir: '/ws/artifacts/vms/development/default' } as InstanceInfo['paths'];

describe('status output', () => {
  it('shows a running instance with ports (and replacements), URLs, uptime and accelerator', () => {
    const lines = describeInstance({ profile: 'development', instance: 'default', paths, status: 'running', pid: 4242, uptimeSeconds: 125, state });
    expect(lines[0]).toBe('development "default": running (PID 4242, TCG, up 2m 5s)');
    expect(lines[1]).toBe('  ports: https 127.0.0.1:8444->443 (8443 was busy), ssh 127.0.0.1:2224->22');
    expect(lines).toContain('  GitLab  https://127.0.0.1:8444/gitlab/');
    expect(lines).toContain('  SSH     ssh://127.0.0.1:2224');
  });

  it('says when a running instance is a development VM, with its run script and disk', () => {
    const devVm: InstanceState = {
      ...state,
      image: { storePath: '/nix/store/bbbb-nixos-vm', kind: 'dev-vm', runScript: 'bin/run-rave-development-vm' },
      devDisk: '/ws/artifacts/vms/development/default/dev-vm.qcow2',
    };
    const lines = describeInstance({ profile: 'development', instance: 'default', paths, status: 'running', pid: 4242, uptimeSeconds: 5, state: devVm });
    expect(lines[1]).toBe('  development VM: /nix/store/bbbb-nixos-vm/bin/run-rave-development-vm, disk /ws/artifacts/vms/development/default/dev-vm.qcow2');
    expect(describeInstance({ profile: 'development', instance: 'default', paths, status: 'running', pid: 4242, uptimeSeconds: 5, state }).join('\n')).not.toContain('development VM');
  });

  it('explains a broken instance and how to clean it', () => {
    const lines = describeInstance({ profile: 'development', instance: 'default', paths, status: 'broken', reason: 'its pidfile names PID 9, which is not running', state });
    expect(lines[0]).toBe('development "default": broken: its pidfile names PID 9, which is not running');
    expect(lines.join('\n')).toContain('--clean');
  });

  it('lists URLs in JSON only while running', () => {
    expect(instanceJson({ profile: 'development', instance: 'default', paths, status: 'running', pid: 1, state }).urls).toHaveLength(2);
    expect(instanceJson({ profile: 'development', instance: 'default', paths, status: 'stopped', state }).urls).toEqual([]);
  });

  it('formats durations compactly', () => {
    expect([formatDuration(5), formatDuration(65), formatDuration(3725), formatDuration(90000)]).toEqual(['5s', '1m 5s', '1h 2m', '1d 1h']);
  });
});
