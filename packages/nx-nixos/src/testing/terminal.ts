/**
 * A command on a pseudo-terminal of its own (script(1) from util-linux), driven like a person at a keyboard:
 * wait for what the program prints, then type; close the terminal as when its window is closed; end everything
 * the session started, on timeout too.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { isSameProcess, processArgs, processStat, type ProcessStat } from '../qemu/proc';

// eslint-disable-next-line no-control-regex -- the ESC of the terminal's control sequences
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export interface TerminalSession {
  /** Everything the terminal showed so far, without ANSI escapes and carriage returns. */
  output(): string;
  /** Types text on the terminal. */
  type(text: string): void;
  /**
   * Resolves with the output once `pattern` appears in what was shown after the first `from` characters;
   * rejects on timeout or when script ends first.
   */
  waitFor(pattern: string | RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** The session's exit code (script -e passes the command's), or null when a signal ended it. */
  exited: Promise<number | null>;
  /** The terminal goes away, as when its window is closed: script(1), which holds it, is killed. */
  close(): void;
  /** Kills (SIGKILL) script's process group and every process the session started that is still there. */
  end(): void;
}

function liveProcesses(): ProcessStat[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map((e) => processStat(Number(e)))
    .filter((p): p is ProcessStat => p !== undefined);
}

/** Every process below `roots`, from the parent links in /proc. */
function descendantsOf(roots: readonly number[]): ProcessStat[] {
  const all = liveProcesses();
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
 * Runs `command` through `script -qefc` on a new terminal, in a process group of its own. `size` sets the
 * terminal's columns and rows (script's terminal has none, and Nx's terminal UI refuses to draw without).
 * The session keeps a record of every process started under it while it runs (processes that lose their
 * parent are still ended by `end`): call `end` in a finally block.
 */
export function terminalSession(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; size?: { columns: number; rows: number } }): TerminalSession {
  const sized = options.size ? `stty cols ${options.size.columns} rows ${options.size.rows}; exec ${command}` : command;
  const child = spawn('script', ['-qefc', sized, '/dev/null'], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    for (const listener of [...listeners]) listener();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const output = () => raw.replace(ANSI, '').replace(/\r/g, '');
  const started = new Map<number, ProcessStat>();
  const record = () => {
    const live = [child.pid!, ...[...started.values()].filter(isSameProcess).map((p) => p.pid)];
    for (const p of descendantsOf(live)) if (!started.has(p.pid)) started.set(p.pid, p);
  };
  const watch = setInterval(record, 100);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.on('exit', () => {
    for (const listener of [...listeners]) listener();
  });
  return {
    output,
    type: (text) => void child.stdin.write(text),
    waitFor(pattern, timeoutMs, from = 0) {
      const found = () => {
        const text = output().slice(from);
        return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
      };
      return new Promise((resolve, reject) => {
        const finish = (error?: string) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(new Error(`${error} before ${String(pattern)}; the terminal showed:\n${output()}`));
          else resolve(output());
        };
        const check = () => {
          if (found()) finish();
          else if (child.exitCode !== null || child.signalCode !== null) finish(`script exited (${child.exitCode ?? child.signalCode})`);
        };
        const timer = setTimeout(() => finish(`timed out after ${timeoutMs} ms`), timeoutMs);
        listeners.add(check);
        check();
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
      // script's child leads the terminal's session: its pid is the session id of all that runs there.
      const sessions = new Set(liveProcesses().filter((p) => p.ppid === child.pid).map((p) => p.pid));
      const targets = [-child.pid!, ...liveProcesses().filter((p) => sessions.has(p.sid)).map((p) => p.pid), ...[...started.values()].filter(isSameProcess).map((p) => p.pid)];
      for (const pid of targets) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
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
