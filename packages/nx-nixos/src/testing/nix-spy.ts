import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActivityType } from '../nix/progress';

/**
 * A `nix` first on PATH that records every call (its arguments) and everything the real nix writes to stderr
 * (with --log-format internal-json: Nix's own activity stream), then passes it all through unchanged.
 */
export interface NixSpy {
  /** Environment for processes that should find the spy: PATH with it first. */
  env: NodeJS.ProcessEnv;
  /** The argument lists of the nix calls so far. */
  calls(): string[][];
  /** The `nix build` calls so far. */
  buildCalls(): string[][];
  /** Nix's internal-json stream of all calls so far. */
  stream(): string;
}

const SEPARATOR = '\u001f';

export function createNixSpy(dir: string): NixSpy {
  const real = spawnSync('sh', ['-c', 'command -v nix'], { encoding: 'utf8' }).stdout.trim();
  if (!real) throw new Error('nix is not on PATH');
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const calls = join(dir, 'calls');
  const stream = join(dir, 'stream');
  writeFileSync(
    join(bin, 'nix'),
    `#!/bin/bash
(IFS=$'${SEPARATOR}'; printf '%s\\n' "$*") >> ${JSON.stringify(calls)}
{ ${JSON.stringify(real)} "$@" 2>&1 1>&3 3>&- | tee -a ${JSON.stringify(stream)} 1>&2; } 3>&1
exit \${PIPESTATUS[0]}
`,
  );
  chmodSync(join(bin, 'nix'), 0o755);
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const list = () =>
    read(calls)
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(SEPARATOR));
  return {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    calls: list,
    buildCalls: () => list().filter((args) => args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '--extra-experimental-features') === 'build'),
    stream: () => read(stream),
  };
}

/**
 * The most derivation builds that ran at the same time, from the order of Nix's own start and stop events of
 * Build activities (no clock involved).
 */
export function maxConcurrentBuilds(stream: string): { max: number; builds: number } {
  const running = new Set<number>();
  let max = 0;
  let builds = 0;
  for (const line of stream.split('\n')) {
    if (!line.startsWith('@nix ')) continue;
    let event: { action?: string; id?: number; type?: number };
    try {
      event = JSON.parse(line.slice(5)) as typeof event;
    } catch {
      continue;
    }
    if (event.action === 'start' && event.type === ActivityType.Build && typeof event.id === 'number') {
      running.add(event.id);
      builds++;
      max = Math.max(max, running.size);
    } else if (event.action === 'stop' && typeof event.id === 'number') {
      running.delete(event.id);
    }
  }
  return { max, builds };
}
