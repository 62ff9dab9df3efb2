import type { ExecutorContext } from '@nx/devkit';
import { profileOf, reportErrors } from '../shared/profile';
import { watchForStop } from '../shared/watch-for-stop';
import { useWorkspaceOf } from '../shared/workspace';

export interface SshExecutorOptions {
  instance?: string;
  print?: boolean;
  /** Everything after `--`: the command to run in the guest (Nx fills it in). */
  __unparsed__?: string[];
}

/** This executor's own options, as they may lead the words Nx hands over. */
const OWN_FLAG = /^--(?:instance(?:=.*)?|print(?:=(?:true|false))?|no-print)$/;

/**
 * The command to run in the guest, from the words Nx did not parse as its own. Nx hands over only what
 * follows a `--` (the options written before it are dropped), else every word in order, this executor's
 * options included: so the command is what follows the first `--` of those words, else the words after the
 * leading options.
 */
export function guestCommand(unparsed: readonly string[] = []): string[] {
  const dashes = unparsed.indexOf('--');
  if (dashes >= 0) return unparsed.slice(dashes + 1);
  let i = 0;
  while (i < unparsed.length && OWN_FLAG.test(unparsed[i])) i += unparsed[i] === '--instance' ? 2 : 1;
  return unparsed.slice(i);
}

export default async function sshExecutor(options: SshExecutorOptions, context: ExecutorContext) {
  return reportErrors(context.targetName ?? 'ssh', async () => {
    const plugin = useWorkspaceOf(context);
    const { listInstances } = await import('../../qemu/instance');
    const { sshTargetOf } = await import('../../ssh/instance-target');
    const { runSsh, scpArgv, shellLine, sshArgv } = await import('../../ssh/ssh');
    const profile = profileOf(context);
    const target = sshTargetOf(profile, listInstances(context.root, profile.name), options.instance, {
      start: `npx nx run ${profile.name}:${plugin.startTargetName}`,
      status: `npx nx run ${profile.name}:${plugin.statusTargetName}`,
    });
    const command = guestCommand(options.__unparsed__);
    if (options.print) {
      console.log(shellLine(['ssh', ...sshArgv(target, command)]));
      console.log(`# files: ${shellLine(['scp', ...scpArgv(target)])} SOURCE root@127.0.0.1:DEST (or root@127.0.0.1:SOURCE DEST)`);
      return true;
    }
    // Without a command ssh opens a login shell, with a terminal when there is one. A closed terminal, Ctrl-C,
    // Nx stopping the task or nx ending without stopping it (killed: watchJob) ends ssh with this executor,
    // which never leaves ssh running on the terminal on its own.
    const stop = watchForStop();
    stop.watchJob();
    let code: number;
    try {
      code = await runSsh(sshArgv(target, command), stop.signal);
    } finally {
      stop.dispose();
    }
    const reason = stop.reason();
    if (reason) {
      console.error(`ssh to ${profile.name} ended: ${reason}.`);
      return false;
    }
    if (code === 0) return true;
    if (code === 255) console.error(`ssh could not reach ${profile.name} (exit 255): see the message above. The plain command: npx nx run ${context.projectName}:${context.targetName} --print`);
    else console.error(`The ${command.length ? 'command' : 'shell'} exited with status ${code}.`);
    return false;
  });
}
