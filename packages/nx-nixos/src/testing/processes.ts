import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { RunResult } from './workspace';

/** Live QEMU processes whose command line names a path under `dir`. */
export function qemusUnder(dir: string): number[] {
  return processesWhere((cmdline) => cmdline.startsWith('qemu-system') && cmdline.includes(`${dir}/`));
}

/** Live processes whose command line (arguments joined by NUL) matches `test`, with their PIDs. */
export function processesWhere(test: (cmdline: string, pid: number) => boolean): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return test(readFileSync(`/proc/${p}/cmdline`, 'utf8'), Number(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Polls until `find` returns something, or fails after `timeoutMs`. */
export async function waitFor<T>(find: () => T[], timeoutMs: number, what: string): Promise<T[]> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const found = find();
    if (found.length) return found;
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Collects a child's output and exit code. */
export function finished(child: ChildProcess): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr, output: stdout + stderr })));
}

/** Resolves with the child's output once it matches `pattern`; rejects on timeout or exit. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!pattern.test(output)) reject(new Error(`exited (${code}) before ${pattern}:\n${output}`));
    });
  });
}
