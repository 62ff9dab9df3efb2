import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { isSameProcess, processArgs, processStat, type ProcessStat } from '../qemu/proc';

/** A command on a terminal of its own, as a person runs it in a terminal window (script(1) holds the terminal). */
export interface TerminalSession {
  /** What the terminal showed so far. */
  output(): string;
  /** Types text on the terminal. */
  type(text: string): void;
  /** Resolves with what the terminal showed once it matches `pattern`; rejects on timeout or when script ends first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves with script's exit status once it ends. */
  exited: Promise<number | null>;
  /** The terminal goes away, as when its window is closed: script(1), which holds it, is killed. */
  close(): void;
  /** Kills (SIGKILL) every process the session started that is still there, whatever became of it. */
  end(): void;
}

/** Every process below `root`, from the parent links in /proc. */
function descendantsOf(roots: readonly number[]): ProcessStat[] {
  const all = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => processStat(Number(e)))
    .filter((p): p is ProcessStat => p !== undefined);
  const found: ProcessStat[] = [];
  const parents = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all)
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
  }
  return found;
}

/**
 * Runs `command` through `script -qec` on a new terminal, in a process group of its own. The session keeps a
 * record of every process started under it while it runs (processes that lose their parent are still ended
 * by `end`): call `end` in a finally block, on timeout too.
 */
export function terminalSession(command: string, options: { cwd: string; env: NodeJS.ProcessEnv }): TerminalSession {
  const child = spawn('script', ['-qec', command, '/dev/null'], { ...options, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (chunk) => (text += chunk));
  child.stderr.on('data', (chunk) => (text += chunk));
  const started = new Map<number, ProcessStat>();
  const record = () => {
    const live = [child.pid!, ...[...started.values()].filter(isSameProcess).map((p) => p.pid)];
    for (const p of descendantsOf(live)) if (!started.has(p.pid)) started.set(p.pid, p);
  };
  const watch = setInterval(record, 100);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    output: () => text,
    type: (input) => void child.stdin.write(input),
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = setInterval(() => {
          if (pattern.test(text)) {
            clearInterval(check);
            resolve(text);
          } else if (child.exitCode !== null || Date.now() > deadline) {
            clearInterval(check);
            reject(new Error(`${child.exitCode !== null ? `script exited (${child.exitCode})` : `timed out after ${timeoutMs} ms`} before ${pattern}; the terminal showed:\n${text}`));
          }
        }, 100);
      });
    },
    exited,
    close() {
      record();
      child.kill('SIGKILL');
    },
    end() {
      clearInterval(watch);
      record();
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the process group is gone
      }
      for (const p of started.values()) if (isSameProcess(p)) process.kill(p.pid, 'SIGKILL');
      child.stdin.destroy();
    },
  };
}

/** Live processes (but QEMU) whose working folder is `dir`, with their arguments: what an nx run in that workspace left. */
export function processesWorkingIn(dir: string): { pid: number; args: string }[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      const pid = Number(e);
      try {
        if (readlinkSync(`/proc/${pid}/cwd`) !== dir) return [];
      } catch {
        return [];
      }
      const stat = processStat(pid);
      const args = processArgs(pid).join(' ');
      return stat && !stat.zombie && args && !args.startsWith('qemu-system') ? [{ pid, args }] : [];
    });
}

/** Polls `condition` every 100 ms until it holds (true) or `ms` have passed (false). */
export async function until(condition: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) if (condition()) return true;
  return condition();
}
