import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ProfileInput } from '../profile/schema';
import { stripAnsi } from '../nix/command';

/** The repository this plugin lives in: its node_modules serve every temporary workspace. */
export const REPO_ROOT = resolve(__dirname, '../../../..');

/** A statically linked busybox (Debian's busybox-static): the only builder of hermetic fixture flakes. */
export const BUSYBOX = process.env.NX_NIXOS_TEST_BUSYBOX ?? '/bin/busybox';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for messages that may go to either (all without colour codes). */
  output: string;
}

export interface TestWorkspace {
  root: string;
  /** Runs a program in the workspace with an environment fit for tests (no daemon, no cloud). */
  run(program: string, args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): RunResult;
  /** Same, without blocking the event loop (for tests that signal the process). */
  start(program: string, args: string[], options?: { env?: NodeJS.ProcessEnv }): ReturnType<typeof spawn>;
  nx(args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): RunResult;
  write(relativePath: string, content: string | Buffer): void;
  /** `git add -A && git commit`: flakes only see files Git tracks. */
  commit(message?: string): void;
  cleanup(): void;
}

export interface TestWorkspaceOptions {
  /** Files to create, relative to the workspace root. */
  files?: Record<string, string | Buffer>;
  /** Options of the @rave/nx-nixos entry in nx.json. */
  pluginOptions?: Record<string, unknown>;
  /** Copy busybox to bin/busybox for hermetic flakes. Default true. */
  busybox?: boolean;
}

export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_SKIP_NX_CACHE: undefined,
    NX_VERBOSE_LOGGING: 'false',
    // Tests never reach a binary cache unless they configure one; this also avoids Nix's retries offline.
    NIX_CONFIG: 'substituters =',
    GIT_AUTHOR_NAME: 'test',
    GIT_AUTHOR_EMAIL: 'test@example.invalid',
    GIT_COMMITTER_NAME: 'test',
    GIT_COMMITTER_EMAIL: 'test@example.invalid',
    ...extra,
  };
}

function toResult(result: SpawnSyncReturns<string>): RunResult {
  if (result.error) throw result.error;
  // Nx colours its output when CI is set, even into a pipe: tests read the text.
  const stdout = stripAnsi(result.stdout ?? '');
  const stderr = stripAnsi(result.stderr ?? '');
  return { code: result.status ?? 128, stdout, stderr, output: stdout + stderr };
}

/** Creates a git-tracked temporary Nx workspace that loads @rave/nx-nixos from this repository. */
export function createTestWorkspace(options: TestWorkspaceOptions = {}): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), 'nx-nixos-ws-'));
  const write = (relativePath: string, content: string | Buffer) => {
    const file = join(root, relativePath);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  write('package.json', JSON.stringify({ name: 'fixture-workspace', version: '0.0.0', private: true }, null, 2));
  write(
    'nx.json',
    JSON.stringify({ plugins: [{ plugin: '@rave/nx-nixos', options: options.pluginOptions ?? {} }] }, null, 2),
  );
  write('tsconfig.base.json', JSON.stringify({ compilerOptions: {} }));
  write('.gitignore', 'node_modules\n.nx/\n/artifacts/*\n!/artifacts/README.md\n');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  if (options.busybox !== false) {
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  }
  for (const [path, content] of Object.entries(options.files ?? {})) write(path, content);

  const run: TestWorkspace['run'] = (program, args, runOptions = {}) =>
    toResult(
      spawnSync(program, args, {
        cwd: root,
        env: testEnv(runOptions.env),
        encoding: 'utf8',
        timeout: runOptions.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
      }),
    );
  const git = (...args: string[]) => {
    const result = run('git', args);
    if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.output}`);
  };
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'fixture');

  return {
    root,
    run,
    start: (program, args, startOptions = {}) =>
      spawn(program, args, { cwd: root, env: testEnv(startOptions.env), stdio: ['ignore', 'pipe', 'pipe'] }),
    nx: (args, nxOptions) => run(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), args, nxOptions),
    write,
    commit: (message = 'change') => {
      git('add', '-A');
      if (run('git', ['diff', '--cached', '--quiet']).code !== 0) git('commit', '-qm', message);
    },
    cleanup: () => {
      if (process.env.NX_NIXOS_KEEP_TEST_WORKSPACE) return;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A valid profile.json object for fixtures; override what the test is about. */
export function fixtureProfile(name: string, overrides: Partial<ProfileInput> = {}): ProfileInput {
  return {
    name,
    description: `Fixture profile ${name}`,
    flake: { attribute: name, aliases: [] },
    image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2' },
    features: {},
    resources: { memoryMiB: 256, cpus: 1, diskGiB: 1 },
    ports: [],
    services: [],
    tests: [],
    ...overrides,
  };
}

export const profileJson = (profile: ProfileInput) => JSON.stringify(profile, null, 2) + '\n';

/**
 * flake.nix of a hermetic fixture: no inputs, every derivation built by bin/busybox with a shell script.
 * `packages` and `checks` map attribute names to shell scripts that must create $out; `$bb` is busybox,
 * and other derivations of the same kind are reachable as `${pkgs.NAME}` / `${checks.NAME}` in scripts.
 */
export function hermeticFlake(spec: { packages?: Record<string, string>; checks?: Record<string, string>; outputs?: string }): string {
  const attrs = (entries: Record<string, string> | undefined) =>
    Object.entries(entries ?? {})
      .map(([name, script]) => `      ${JSON.stringify(name)} = mk ${JSON.stringify(name)} ${nixString(script)};`)
      .join('\n');
  return `{
  description = "nx-nixos test fixture";
  outputs = { self }:
    let
      system = "x86_64-linux";
      mk = name: script: derivation {
        inherit name system;
        builder = "\${./bin}/busybox";
        args = [ "sh" "-c" ("bb=\${./bin}/busybox; set -e; " + script) ];
      };
      pkgs = self.packages.\${system};
      checks = self.checks.\${system};
    in {
      packages.\${system} = {
${attrs(spec.packages)}
      };
      checks.\${system} = {
${attrs(spec.checks)}
      };${spec.outputs ? `\n${spec.outputs}` : ''}
    };
}
`;
}

/** A Nix '' string holding `text` verbatim, except that ${...} stays an antiquotation. */
function nixString(text: string): string {
  return `''${text.replace(/''/g, "'''")}''`;
}
