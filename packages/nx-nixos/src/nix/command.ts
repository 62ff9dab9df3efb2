import { spawn } from 'node:child_process';
import { doctorCommand } from '../layout';

/** The only place that starts Nix processes. */
export type NixProgram = 'nix' | 'nix-store' | 'nix-instantiate';

/** Passed to every `nix` call: Nix 2.8 and newer keep flakes and the new CLI behind these. */
export const NIX_EXPERIMENTAL_FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

export const nixInstallHint = () =>
  `Install Nix with the official installer (https://nixos.org/download) or your distribution's package (Debian/Ubuntu: \`sudo apt-get install nix-bin nix-setup-systemd\`) and make sure \`nix\` is on PATH; \`${doctorCommand()}\` says which version the flake needs.`;

export class NixMissingError extends Error {
  constructor(program: string) {
    super(`${program} was not found on PATH. ${nixInstallHint()}`);
    this.name = 'NixMissingError';
  }
}

export interface NixProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for every stderr line as it arrives (internal-json events, messages). */
  onStderrLine?: (line: string) => void;
  /** How many trailing stderr lines to keep in the result. Default 200. */
  keepStderrLines?: number;
  /** Stops the process (SIGTERM); the result then carries that signal. */
  abort?: AbortSignal;
}

export interface NixProcessResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string[];
}

export function runNix(program: NixProgram, args: readonly string[], options: NixProcessOptions = {}): Promise<NixProcessResult> {
  const fullArgs = program === 'nix' ? [...NIX_EXPERIMENTAL_FEATURES, ...args] : [...args];
  const keep = options.keepStderrLines ?? 200;
  return new Promise((resolve, reject) => {
    const child = spawn(program, fullArgs, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const tail: string[] = [];
    let pending = '';
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      options.onStderrLine?.(line);
    };
    const kill = () => child.kill('SIGTERM');
    if (options.abort?.aborted) kill();
    else options.abort?.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      pending += chunk;
      let start = 0;
      let newline: number;
      while ((newline = pending.indexOf('\n', start)) >= 0) {
        onLine(pending.slice(start, newline));
        start = newline + 1;
      }
      pending = pending.slice(start);
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new NixMissingError(program) : error),
    );
    child.on('close', (code, signal) => {
      options.abort?.removeEventListener('abort', kill);
      if (pending) onLine(pending);
      resolve({ code: code ?? 128, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderrTail: tail });
    });
  });
}

/** Options that make Nix work without the network: no substituters and no downloads, so no retries. */
export function offlineArgs(): string[] {
  return ['--offline', '--option', 'substituters', ''];
}

// eslint-disable-next-line no-control-regex -- Nix colours its messages even when piped: match the ESC of its colour codes
export const stripAnsi = (text: string) => (text.includes('\u001b') ? text.replace(/\u001b\[[0-9;]*m/g, '') : text);
