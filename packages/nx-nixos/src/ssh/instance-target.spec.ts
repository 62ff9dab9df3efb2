import { parseProfile } from '../profile/load';
import { fixtureProfile } from '../testing/workspace';
import type { InstanceInfo, InstanceState } from '../qemu/instance';
import { sshTargetOf } from './instance-target';
import { sshFiles } from './ssh';

const profile = (ports: { name: string; guest: number; host: number }[]) => parseProfile(JSON.stringify(fixtureProfile('dev', { ports })), 'profiles/dev/profile.json');
const withSsh = profile([{ name: 'ssh', guest: 22, host: 2222 }]);
const hints = { start: 'npx nx run dev:start', status: 'npx nx run dev:status' };

function instance(name: string, status: InstanceInfo['status'], ssh = true): InstanceInfo {
  const dir = `/ws/artifacts/vms/dev/${name}`;
  const files = sshFiles(dir);
  const state = {
    instance: name,
    ports: [{ name: 'ssh', guest: 22, requested: 2222, host: 2230 }],
    ...(ssh ? { ssh: { key: files.key, knownHosts: files.knownHosts, hostKeyAlias: `nx-nixos-dev-${name}` } } : {}),
  } as InstanceState;
  return { profile: 'dev', instance: name, status, paths: { dir } as InstanceInfo['paths'], state };
}

describe('sshTargetOf', () => {
  it('reaches the only running instance on its forwarded port with its own files', () => {
    const target = sshTargetOf(withSsh, [instance('old', 'stopped'), instance('default', 'running')], undefined, hints);
    expect(target).toEqual({ files: sshFiles('/ws/artifacts/vms/dev/default'), alias: 'nx-nixos-dev-default', port: 2230 });
  });

  it('names start when nothing runs, and lists the instances when several do', () => {
    expect(() => sshTargetOf(withSsh, [instance('default', 'stopped')], undefined, hints)).toThrow('dev has no running instance. Start one: npx nx run dev:start');
    expect(() => sshTargetOf(withSsh, [instance('a', 'running'), instance('b', 'running')], undefined, hints)).toThrow(
      'dev has 2 running instances (a, b); choose one with --instance NAME.',
    );
    expect(sshTargetOf(withSsh, [instance('a', 'running'), instance('b', 'running')], 'b', hints).alias).toBe('nx-nixos-dev-b');
    expect(() => sshTargetOf(withSsh, [instance('a', 'running')], 'c', hints)).toThrow('dev instance "c" is not running. Start it: npx nx run dev:start --instance c Running: a.');
  });

  it('says how to forward guest port 22 when the profile does not', () => {
    expect(() => sshTargetOf(profile([{ name: 'http', guest: 80, host: 8080 }]), [instance('default', 'running')], undefined, hints)).toThrow(
      `forwards no guest port 22, so the guest's SSH server cannot be reached. Add { "name": "ssh", "guest": 22, "host": 2222 } to its "ports"`,
    );
  });

  it('refuses an instance started without an identity, or whose state points elsewhere', () => {
    expect(() => sshTargetOf(withSsh, [instance('default', 'running', false)], undefined, hints)).toThrow('was started without an SSH identity');
    const moved = instance('default', 'running');
    moved.state!.ssh!.key = '/home/someone/.ssh/id_ed25519';
    expect(() => sshTargetOf(withSsh, [moved], undefined, hints)).toThrow('state.json names SSH files outside its folder');
  });
});
