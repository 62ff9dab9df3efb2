/**
 * A command on a pseudo-terminal (script(1) from util-linux), driven like a person at a keyboard: wait for
 * what the program prints, then type. `kill()` ends script's process group and the terminal session script
 * opens for the command (everything the command started, whatever process group it moved to).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// eslint-disable-next-line no-control-regex -- the ESC of the terminal's control sequences
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export interface TerminalSession {
  /** Everything printed so far, without ANSI escapes, carriage returns as in a terminal dropped. */
  output(): string;
  /** Resolves with the output once `pattern` appears in what was printed after `from` characters. */
  waitFor(pattern: string | RegExp, timeoutMs: number, from?: number): Promise<string>;
  type(text: string): void;
  /** The session's exit code (script -e passes the command's), or null when a signal ended it. */
  exited: Promise<number | null>;
  /** SIGKILL to script, its process group and every process of the terminal session it opened. */
  kill(): void;
}

/**
 * `size`: the terminal's columns and rows (script's terminal has none, which Nx's terminal UI refuses to draw
 * on), set with stty before the command runs.
 */
export function startTerminalSession(commandLine: string, options: { cwd: string; env: NodeJS.ProcessEnv; size?: { columns: number; rows: number } }): TerminalSession {
  const sized = options.size ? `stty cols ${options.size.columns} rows ${options.size.rows}; exec ${commandLine}` : commandLine;
  const child: ChildProcess = spawn('script', ['-qefc', sized, '/dev/null'], { cwd: options.cwd, env: options.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const output = () => raw.replace(ANSI, '').replace(/\r/g, '');
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    output,
    waitFor(pattern, timeoutMs, from = 0) {
      const found = () => {
        const text = output().slice(from);
        return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
      };
      return new Promise((resolve, reject) => {
        if (found()) return resolve(output());
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${String(pattern)}; the terminal shows:\n${output()}`));
        }, timeoutMs);
        const check = () => {
          if (!found()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(output());
        };
        listeners.add(check);
      });
    },
    type: (text) => child.stdin!.write(text),
    exited,
    kill() {
      // script's child leads the terminal's session: its pid is the session id of all that runs there.
      const sessions = new Set(processStats().filter((p) => p.ppid === child.pid).map((p) => p.pid));
      const targets = [-child.pid!, ...processStats().filter((p) => sessions.has(p.sid)).map((p) => p.pid)];
      for (const pid of targets) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

/** pid, parent pid and session id of every live process (/proc/PID/stat; the name field may hold spaces). */
function processStats(): { pid: number; ppid: number; sid: number }[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return [{ pid: Number(p), ppid: Number(fields[1]), sid: Number(fields[3]) }];
      } catch {
        return [];
      }
    });
}
