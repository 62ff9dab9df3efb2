import type { Profile } from '../profile/schema';
import type { InstanceInfo } from '../qemu/instance';
import { SSH_GUEST_PORT, sshFiles, type SshTarget } from './ssh';

/** How hints name the targets that start and list instances, e.g. "npx nx run development:start". */
export interface SshHints {
  start: string;
  status: string;
}

/** What a profile.json must forward for ssh to reach the guest. */
const portHint = (profile: Profile) =>
  `${profile.name}'s profile.json forwards no guest port ${SSH_GUEST_PORT}, so the guest's SSH server cannot be reached. Add { "name": "ssh", "guest": ${SSH_GUEST_PORT}, "host": 2222 } to its "ports" and start the VM again.`;

/**
 * The instance to reach: the one named, else the only running one. Every refusal says what to do: start
 * one, pick one of several, or restart one that was started before it had an SSH identity.
 */
export function sshTargetOf(profile: Profile, instances: readonly InstanceInfo[], wanted: string | undefined, hints: SshHints): SshTarget {
  if (!profile.ports.some((p) => p.guest === SSH_GUEST_PORT)) throw new Error(portHint(profile));
  const running = instances.filter((i) => i.status === 'running');
  let chosen: InstanceInfo | undefined;
  if (wanted !== undefined) {
    chosen = running.find((i) => i.instance === wanted);
    if (!chosen) {
      const others = running.length ? ` Running: ${running.map((i) => i.instance).join(', ')}.` : '';
      throw new Error(`${profile.name} instance "${wanted}" is not running. Start it: ${hints.start} --instance ${wanted}${others}`);
    }
  } else if (running.length === 0) {
    throw new Error(`${profile.name} has no running instance. Start one: ${hints.start}`);
  } else if (running.length > 1) {
    throw new Error(`${profile.name} has ${running.length} running instances (${running.map((i) => i.instance).join(', ')}); choose one with --instance NAME.`);
  } else chosen = running[0];
  const { state } = chosen;
  const restart = `Stop it and start it again to give it one (see ${hints.status}).`;
  if (!state) throw new Error(`${profile.name} instance "${chosen.instance}" runs, but its state is unknown (${chosen.notes?.join('; ') || 'no state.json'}). ${restart}`);
  const port = state.ports.find((p) => p.guest === SSH_GUEST_PORT);
  if (!port) throw new Error(`${profile.name} instance "${chosen.instance}" was started without guest port ${SSH_GUEST_PORT} forwarded. Stop it and start it again.`);
  if (!state.ssh) throw new Error(`${profile.name} instance "${chosen.instance}" was started without an SSH identity (an older plugin, or ssh-keygen was missing: see its launch output). ${restart}`);
  const files = sshFiles(chosen.paths.dir);
  if (state.ssh.key !== files.key || state.ssh.knownHosts !== files.knownHosts)
    throw new Error(`${profile.name} instance "${chosen.instance}": state.json names SSH files outside its folder ${chosen.paths.dir}; not using them. ${restart}`);
  return { files, alias: state.ssh.hostKeyAlias, port: port.host };
}
