import { readFileSync } from 'node:fs';
import { homedir, availableParallelism } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/** A Nix setting and where its value comes from, for `repo:doctor`. */
export interface SettingSource {
  value: string;
  /** e.g. "/etc/nix/nix.conf", "NIX_CONFIG", "option maxJobs", "extraArgs", "nx-nixos default". */
  source: string;
}

/** The settings files Nix reads, in the order it applies them (a later file overrides an earlier one). */
export function nixConfigFiles(env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] {
  const system = join(env.NIX_CONF_DIR || '/etc/nix', 'nix.conf');
  const user =
    env.NIX_USER_CONF_FILES !== undefined
      ? env.NIX_USER_CONF_FILES.split(':').filter(Boolean)
      : [env.XDG_CONFIG_HOME || join(home, '.config'), ...(env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter(Boolean)].map((dir) =>
          join(dir, 'nix', 'nix.conf'),
        );
  // Nix applies the user files from the last to the first: the first one wins.
  return [system, ...user.reverse()];
}

type ReadText = (path: string) => string | undefined;

const readIfThere: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * Applies nix.conf text as Nix does: `name = value` lines, `#` comments, `include` / `!include` of further
 * files (relative to the including file).
 */
function applyConfig(text: string, source: string, into: Map<string, SettingSource>, read: ReadText, depth = 0): void {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const include = /^(!?)include\s+(\S+)$/.exec(line);
    if (include) {
      if (depth > 8) continue;
      const path = isAbsolute(include[2]) || source === 'NIX_CONFIG' ? include[2] : join(dirname(source), include[2]);
      const included = read(path);
      if (included !== undefined) applyConfig(included, path, into, read, depth + 1);
      continue;
    }
    const setting = /^([A-Za-z0-9_-]+)\s*=\s*(.*)$/.exec(line);
    if (setting) into.set(setting[1], { value: setting[2].trim(), source });
  }
}

/** The settings the machine's and the user's Nix configuration set (files and NIX_CONFIG), with their origin. */
export function configuredNixSettings(env: NodeJS.ProcessEnv = process.env, read: ReadText = readIfThere, home = homedir()): Map<string, SettingSource> {
  const settings = new Map<string, SettingSource>();
  for (const file of nixConfigFiles(env, home)) {
    const text = read(file);
    if (text !== undefined) applyConfig(text, file, settings, read);
  }
  if (env.NIX_CONFIG !== undefined) applyConfig(env.NIX_CONFIG, 'NIX_CONFIG', settings, read);
  return settings;
}

export interface ParallelismInput {
  /** CPUs of this machine. */
  cpus: number;
  /** What nix.conf files and NIX_CONFIG set (configuredNixSettings). */
  configured: ReadonlyMap<string, SettingSource>;
  /** The maxJobs option (nx.json `sharing`, project or command line); 0 sends every build to the builders. */
  maxJobs?: number;
  /** Further `nix build` arguments the user passed (extraArgs). */
  extraArgs?: readonly string[];
}

export interface Parallelism {
  /** Arguments for `nix build`, placed before extraArgs. */
  args: string[];
  maxJobs: SettingSource;
  cores: SettingSource;
}

/** The value of a setting given in `nix build` arguments (`--max-jobs 4`, `-j4`, `--option cores 2`). */
function argValue(args: readonly string[], name: 'max-jobs' | 'cores'): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === `--${name}` || (name === 'max-jobs' && arg === '-j')) value = args[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
    else if (name === 'max-jobs' && /^-j\d+$/.test(arg)) value = arg.slice(2);
    else if (arg === '--option' && args[i + 1] === name) value = args[i + 2];
  }
  return value;
}

const jobsNumber = (value: string, cpus: number) => (value === 'auto' ? cpus : Number.parseInt(value, 10));

/**
 * How many derivations Nix builds at once (max-jobs) and how many cores each build may use (cores).
 * Nix's own default is one build at a time with all cores each; the plugin's default is one job per CPU
 * with cores split between them, so that jobs x cores stays within the machine. In order of precedence:
 * extraArgs; maxJobs 0 (every build on the remote builders); the machine's or user's nix.conf and NIX_CONFIG;
 * the maxJobs option; the plugin's default.
 */
export function decideParallelism(input: ParallelismInput): Parallelism {
  const { cpus, configured } = input;
  const extra = input.extraArgs ?? [];
  const args: string[] = [];
  let maxJobs: SettingSource;
  const extraJobs = argValue(extra, 'max-jobs');
  const configuredJobs = configured.get('max-jobs');
  if (extraJobs !== undefined) maxJobs = { value: extraJobs, source: 'extraArgs' };
  else if (input.maxJobs === 0) maxJobs = { value: '0', source: 'option maxJobs (every build on the builders)' };
  else if (configuredJobs) maxJobs = configuredJobs;
  else if (input.maxJobs !== undefined) maxJobs = { value: String(input.maxJobs), source: 'option maxJobs' };
  else maxJobs = { value: String(cpus), source: `nx-nixos default (one job per CPU, ${cpus} CPUs)` };
  if (maxJobs.source.startsWith('option') || maxJobs.source.startsWith('nx-nixos')) args.push('--max-jobs', maxJobs.value);

  let cores: SettingSource;
  const extraCores = argValue(extra, 'cores');
  const configuredCores = configured.get('cores');
  const jobs = jobsNumber(maxJobs.value, cpus);
  if (extraCores !== undefined) cores = { value: extraCores, source: 'extraArgs' };
  else if (configuredCores) cores = configuredCores;
  else if (!(jobs > 0)) cores = { value: '0', source: 'Nix default (all cores; no local builds)' };
  else {
    cores = { value: String(Math.max(1, Math.floor(cpus / jobs))), source: `nx-nixos default (${cpus} CPUs / ${jobs} job(s))` };
    args.push('--cores', cores.value);
  }
  return { args, maxJobs, cores };
}

/** The environment variables that choose which Nix configuration is read (with the home folder). */
const CONFIG_VARIABLES = ['NIX_CONF_DIR', 'NIX_USER_CONF_FILES', 'XDG_CONFIG_HOME', 'XDG_CONFIG_DIRS', 'NIX_CONFIG'] as const;

const settingsRead = new Map<string, ReadonlyMap<string, SettingSource>>();

/**
 * configuredNixSettings, read once per process for a given environment: every nixBuild asks, and the files
 * do not change while a command runs.
 */
export function nixSettingsOnce(env: NodeJS.ProcessEnv = process.env): ReadonlyMap<string, SettingSource> {
  const key = JSON.stringify([...CONFIG_VARIABLES.map((name) => env[name] ?? null), homedir()]);
  let settings = settingsRead.get(key);
  if (!settings) {
    settings = configuredNixSettings(env);
    settingsRead.set(key, settings);
  }
  return settings;
}

/** Forgets the configuration nixSettingsOnce read, so that the next call reads the files again (tests that edit them). */
export function forgetNixSettings(): void {
  settingsRead.clear();
}

/** The parallelism of local builds on this machine, from its Nix configuration and the options. */
export function buildParallelism(options: { maxJobs?: number; extraArgs?: readonly string[] } = {}, env: NodeJS.ProcessEnv = process.env): Parallelism {
  return decideParallelism({ cpus: availableParallelism(), configured: nixSettingsOnce(env), ...options });
}

/** "max-jobs 2 (nx-nixos default ...), cores 1 (...)" */
export function describeParallelism(parallelism: Parallelism): string {
  return `max-jobs ${parallelism.maxJobs.value} (${parallelism.maxJobs.source}), cores ${parallelism.cores.value} (${parallelism.cores.source})`;
}
