import { readFileSync, readdirSync } from 'node:fs';

/** What /proc/<pid>/stat says about a process; undefined once it is gone. */
export interface ProcessStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id: the pid of the session's leader. */
  sid: number;
  /** Clock ticks after boot: with the PID, it names one process even when PIDs are reused. */
  startTime: number;
  zombie: boolean;
}

export function processStat(pid: number): ProcessStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), startTime: Number(fields[19]), zombie: fields[0] === 'Z' };
}

/** True for a process that exists and is not a zombie (a dead child nobody has reaped yet). */
export function isLiveProcess(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && !stat.zombie;
}

/** The arguments of a process (empty for a zombie or a process that is gone). */
export function processArgs(pid: number): string[] {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline ? cmdline.replace(/\0$/, '').split('\0') : [];
  } catch {
    return [];
  }
}

/** One variable of a process's environment (readable for our own processes only); undefined when unreadable or unset. */
export function processEnv(pid: number, name: string): string | undefined {
  try {
    const prefix = `${name}=`;
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((v) => v.startsWith(prefix))?.slice(prefix.length);
  } catch {
    return undefined;
  }
}

/** Live processes whose environment has `name` set to `value`. */
export function processesWithEnv(name: string, value: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((e) => /^\d+$/.test(e) && processEnv(Number(e), name) === value && isLiveProcess(Number(e))).map(Number);
}

/** Every live process whose arguments `match` accepts, as [pid, args]. */
export function findProcesses(match: (args: readonly string[]) => boolean): { pid: number; args: string[] }[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map((e) => ({ pid: Number(e), args: processArgs(Number(e)) }))
    .filter((p) => p.args.length > 0 && match(p.args));
}

/**
 * The processes of the job this one was started in, from its parent upwards: the parent and every
 * ancestor in the parent's process group (e.g. nx, `sh -c`, npx). A terminal, an IDE or a CI runner may
 * signal any one of them alone; when one of them ends, the command the user started is over.
 */
export function jobAncestors(): ProcessStat[] {
  const parent = processStat(process.ppid);
  if (!parent || parent.pid <= 1) return [];
  const chain = [parent];
  for (let current = parent; current.ppid > 1; ) {
    const next = processStat(current.ppid);
    if (!next || next.pgid !== parent.pgid) break;
    chain.push(next);
    current = next;
  }
  return chain;
}

/** True while the process is the same one (not gone, not a zombie, PID not reused). */
export function isSameProcess(p: Pick<ProcessStat, 'pid' | 'startTime'>): boolean {
  const now = processStat(p.pid);
  return now !== undefined && !now.zombie && now.startTime === p.startTime;
}
