import { posix } from 'node:path';
import type { z } from 'zod';
import { globProblem } from '../glob/glob';

/** Options of the `@rave/nx-nixos` entry in nx.json `plugins`. Every field is optional. */
export interface NixosPluginOptions {
  /** Folder whose sub-folders hold profile.json files. Default "profiles". */
  profilesDir?: string;
  /** Flake reference passed to Nix, relative to the workspace root. Default ".". */
  flakeRef?: string;
  /** Name of the workspace-root project that carries repo-wide targets. Default "repo". */
  repoProjectName?: string;
  /** Extra input globs (workspace-relative) that every image build reads, besides its static Nix closure. Default []. */
  nixInputs?: string[];
  /** Globs of Nix files whose folders become `type:nix-module` projects. Default ["infra/**\/*.nix"]. */
  nixModuleGlobs?: string[];
  /** Module project names are `nix-` + the folder path relative to this folder. Default "infra/nixos". */
  nixModulesBase?: string;
  /**
   * Where the Nix module of a profile.json feature lives, with `{feature}` for its name, e.g.
   * "infra/nixos/modules/services/{feature}". A profile then depends on the module of each feature it turns
   * on, and an import of such a module from elsewhere (a base configuration importing them all) does not
   * make the importer depend on it. Default "" (no feature modules).
   */
  featureModules?: string;
  /** vm-test of a profile depends on its build-image and makes the image available first. Default false. */
  vmTestDependsOnImage?: boolean;
  buildImageTargetName?: string;
  vmTestTargetName?: string;
  doctorTargetName?: string;
  launchTargetName?: string;
  /** The detached launch (launch itself is continuous). Default "start". */
  startTargetName?: string;
  stopTargetName?: string;
  statusTargetName?: string;
  /** The shell or command in a running VM over SSH. Default "ssh". */
  sshTargetName?: string;
  /** Installs secrets into a profile's running VM over SSH. Default "secrets". */
  secretsTargetName?: string;
  /** Builds a profile's development VM (NixOS system.build.vm). Default "build-vm". */
  buildVmTargetName?: string;
  /** Runs the development VM in the foreground (continuous). Default "launch-vm". */
  launchVmTargetName?: string;
  /** Starts the development VM in the background. Default "start-vm". */
  startVmTargetName?: string;
  hygieneTargetName?: string;
  docsCheckTargetName?: string;
  /** Folder of the documentation project. Default "docs". */
  docsDir?: string;
  /** Name of the documentation project, or false for none (a workspace with its own docs project). Default "docs". */
  docsProjectName?: string | false;
  /** Folder for images, logs, test reports and VM instances; Git ignores it but for its README. Default "artifacts". */
  outputDir?: string;
  /** Options of the hygiene executor (rules, thresholds, allowlist), shared by repo and profile targets. */
  hygiene?: Record<string, unknown>;
  /** Options of the docs-check executor. */
  docsCheck?: Record<string, unknown>;
  /**
   * Binary caches, remote builders and pushing for every profile: defaults of the build-image and vm-test
   * options of the same names (launch takes all but pushTo and signingKeyFile). targetDefaults, project.json
   * and the command line still override them.
   */
  sharing?: PluginSharingOptions;
}

// zod is loaded only when nx.json sets sharing options: graph inference runs on every nx command.
function sharingSchema() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, see above
  const { z } = require('zod') as typeof import('zod');
  return z
    .object({
      substituters: z.array(z.string()),
      trustedPublicKeys: z.array(z.string()),
      builders: z.string(),
      maxJobs: z.number().int().nonnegative(),
      systemFeatures: z.array(z.string()),
      pushTo: z.string(),
      signingKeyFile: z.string(),
    })
    .partial()
    .strict();
}

export type PluginSharingOptions = z.infer<ReturnType<typeof sharingSchema>>;

export const SHARING_KEYS: (keyof PluginSharingOptions)[] = ['substituters', 'trustedPublicKeys', 'builders', 'maxJobs', 'systemFeatures', 'pushTo', 'signingKeyFile'];

/** The sharing options that launch (and start) take: it substitutes or builds, never pushes. */
/** The module folder of a feature, or undefined when the workspace declares no feature modules. */
export const featureModuleRoot = (options: ResolvedPluginOptions, feature: string) =>
  options.featureModules ? options.featureModules.replace('{feature}', feature) : undefined;

/** The feature whose module folder `root` is, or undefined. */
export function featureOfModuleRoot(options: ResolvedPluginOptions, root: string): string | undefined {
  if (!options.featureModules) return undefined;
  const [before, after] = options.featureModules.split('{feature}');
  if (root.length <= before.length + after.length || !root.startsWith(before) || !root.endsWith(after)) return undefined;
  const feature = root.slice(before.length, root.length - after.length);
  return feature.includes('/') ? undefined : feature;
}

export const LAUNCH_SHARING_KEYS = ['substituters', 'trustedPublicKeys', 'builders', 'maxJobs', 'systemFeatures'] as const;

export type ResolvedPluginOptions = Required<NixosPluginOptions>;

export const DEFAULT_OPTIONS: ResolvedPluginOptions = {
  profilesDir: 'profiles',
  flakeRef: '.',
  repoProjectName: 'repo',
  nixInputs: [],
  nixModuleGlobs: ['infra/**/*.nix'],
  nixModulesBase: 'infra/nixos',
  featureModules: '',
  vmTestDependsOnImage: false,
  buildImageTargetName: 'build-image',
  vmTestTargetName: 'vm-test',
  doctorTargetName: 'doctor',
  launchTargetName: 'launch',
  startTargetName: 'start',
  stopTargetName: 'stop',
  statusTargetName: 'status',
  sshTargetName: 'ssh',
  secretsTargetName: 'secrets',
  buildVmTargetName: 'build-vm',
  launchVmTargetName: 'launch-vm',
  startVmTargetName: 'start-vm',
  hygieneTargetName: 'hygiene',
  docsCheckTargetName: 'docs-check',
  docsDir: 'docs',
  docsProjectName: 'docs',
  outputDir: 'artifacts',
  hygiene: {},
  docsCheck: {},
  sharing: {},
};

const invalid = (option: string, reason: string, todo: string) =>
  new Error(`nx.json: option "${option}" of plugin @rave/nx-nixos is invalid: ${reason}. ${todo}`);

/** A value as an error message shows it: what it is, and short. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects and arrays returned above; a number or boolean prints as itself
  return `the ${typeof value} ${String(value)}`;
}

/** Why a workspace-relative path is not one (absolute, leaving the workspace, backslashes), or undefined. */
function pathProblem(value: string): string | undefined {
  if (value.trim() === '') return 'it is empty';
  if (value.includes('\\')) return `${shown(value)} has a backslash; write paths with "/"`;
  if (value.startsWith('/') || /^[A-Za-z]:/.test(value)) return `${shown(value)} is an absolute path`;
  if (value.split('/').includes('..')) return `${shown(value)} leads outside the workspace`;
  return undefined;
}

const normalFolder = (value: string) => {
  const folder = posix.normalize(value).split('/').filter(Boolean).join('/');
  return folder === '' ? '.' : folder;
};

type Check = (option: string, value: unknown) => unknown;

/** A folder inside the workspace, normalised ("./profiles/" is "profiles"); `root` allows the workspace root itself. */
const folder =
  (what: string, example: string, { root = false } = {}): Check =>
  (option, value) => {
    const todo = `Set it to ${what}, relative to the workspace root (e.g. "${example}"), or leave it out for the default.`;
    if (typeof value !== 'string') throw invalid(option, `expected a folder, got ${shown(value)}`, todo);
    const problem = pathProblem(value) ?? (/[*?[\]{}!]/.test(value) ? `${shown(value)} is a glob, not a folder` : undefined);
    if (problem) throw invalid(option, problem, todo);
    const normal = normalFolder(value);
    if (normal === '.' && !root) throw invalid(option, `${shown(value)} is the workspace root itself`, todo);
    return normal;
  };

/** Globs of workspace files. */
const globs =
  (what: string, example: string): Check =>
  (option, value) => {
    const todo = `Set it to an array of ${what}, relative to the workspace root (e.g. ["${example}"]), or leave it out for the default.`;
    if (typeof value === 'string') throw invalid(option, `expected an array of globs, got the string ${shown(value)}`, `Write it as [${JSON.stringify(value)}].`);
    if (!Array.isArray(value)) throw invalid(option, `expected an array of globs, got ${shown(value)}`, todo);
    value.forEach((glob: unknown, i) => {
      const where = `${option}[${i}]`;
      if (typeof glob !== 'string') throw invalid(where, `expected a glob, got ${shown(glob)}`, todo);
      const problem = pathProblem(glob) ?? (glob.startsWith('!') ? `${shown(glob)} is a negation, which is not supported here` : undefined);
      if (problem) throw invalid(where, problem, todo);
      let depth = 0;
      for (const c of glob) {
        depth += c === '{' ? 1 : c === '}' ? -1 : 0;
        if (depth < 0) break;
      }
      if (depth !== 0) throw invalid(where, `${shown(glob)} has unbalanced braces`, 'Close every "{" with "}" ({a,b} means a or b).');
      const globError = globProblem(glob);
      if (globError) throw invalid(where, globError, 'See docs/reference/globs.md for the globs it takes.');
    });
    return value as string[];
  };

/** A project or target name: what `nx run <project>:<target>` can name. */
const name =
  (what: string, example: string): Check =>
  (option, value) => {
    const todo = `Set it to ${what} such as "${example}", or leave it out for the default.`;
    if (typeof value !== 'string') throw invalid(option, `expected a name, got ${shown(value)}`, todo);
    if (!/^[^\s:,"'`$]+$/.test(value)) throw invalid(option, `${shown(value)} is empty or has a space, ":", ",", a quote or "$"`, todo);
    return value;
  };

/** An object of executor options; the paths the plugin itself reads from it are checked too. */
const executorOptions =
  (executor: string): Check =>
  (option, value) => {
    const todo = `Set it to an object of ${executor} options (see npx nx-nixos help ${executor}), or leave it out.`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(option, `expected an object, got ${shown(value)}`, todo);
    const { allowlist, profilePaths } = value as { allowlist?: unknown; profilePaths?: unknown };
    if (allowlist !== undefined) {
      if (typeof allowlist !== 'string') throw invalid(`${option}.allowlist`, `expected a file, got ${shown(allowlist)}`, 'Name a JSON file inside the workspace, relative to its root.');
      const problem = pathProblem(allowlist);
      if (problem) throw invalid(`${option}.allowlist`, problem, 'Name a JSON file inside the workspace, relative to its root.');
    }
    if (profilePaths !== undefined) globs('globs of files the profile reads', 'config/**')(`${option}.profilePaths`, profilePaths);
    return value;
  };

/** A folder template with one `{feature}` standing for a whole path segment. */
const featureFolder: Check = (option, value) => {
  const todo = 'Set it to the folder of a feature\'s module with {feature} for its name, relative to the workspace root (e.g. "infra/nixos/modules/services/{feature}"), or leave it out.';
  if (typeof value !== 'string') throw invalid(option, `expected a folder template, got ${shown(value)}`, todo);
  if (value === '') return value;
  const problem = pathProblem(value);
  if (problem) throw invalid(option, problem, todo);
  const segments = normalFolder(value).split('/');
  if (segments.filter((s) => s === '{feature}').length !== 1 || segments.some((s) => s !== '{feature}' && /[*?[\]{}!]/.test(s)))
    throw invalid(option, `${shown(value)} must hold "{feature}" once, as a whole folder name, and no glob`, todo);
  return segments.join('/');
};

const flag: Check = (option, value) => {
  if (typeof value !== 'boolean') throw invalid(option, `expected true or false, got ${shown(value)}`, 'Set it to true or false, or leave it out for the default (false).');
  return value;
};

const flakeRef: Check = (option, value) => {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalid(option, `expected a flake reference, got ${shown(value)}`, 'Set it to the flake Nix builds from, e.g. "." (the workspace root), or leave it out.');
  return value;
};

/** One plugin option: how it is checked (returning the value to use) and how the reference describes it. */
export interface PluginOptionSpec {
  check: Check;
  /** What the option does. */
  meaning: string;
  /** Which values pass `check`. */
  accepts: string;
}

const FOLDER = 'a folder inside the workspace: relative, no `..`, not `.`, not a glob';
const GLOBS = 'an array of relative [globs](globs.md): no `..`, not absolute, no leading `!`, balanced `{}`';
const NAME = 'a name: no space, `:`, `,`, quote or `$`';
const TARGET_NAME = `${NAME}; the targets of one project all different`;

/**
 * The options' schema: the one source of their checks (resolveOptions) and of docs/reference/plugin-options.md.
 * Defaults are DEFAULT_OPTIONS; `sharing` is checked by its zod schema (sharingSchema), loaded only when set.
 */
export const PLUGIN_OPTION_SCHEMA: Record<Exclude<keyof ResolvedPluginOptions, 'sharing'>, PluginOptionSpec> = {
  profilesDir: {
    check: folder('the folder that holds one sub-folder per profile', 'profiles'),
    meaning: 'Folder with one sub-folder per profile (`<profilesDir>/<name>/profile.json`).',
    accepts: FOLDER,
  },
  flakeRef: { check: flakeRef, meaning: 'Flake reference passed to Nix, relative to the workspace root.', accepts: 'a non-empty string' },
  repoProjectName: {
    check: name('a project name', 'repo'),
    meaning: 'Name of the workspace-root project that carries the `doctor` and `hygiene` targets.',
    accepts: `${NAME}; differs from \`docsProjectName\``,
  },
  nixInputs: {
    check: globs('globs of files every image build reads', 'config/**/*.yaml'),
    meaning: 'Extra input globs that every image build reads besides its static Nix closure (files Nix reads through a dynamic path, secrets files).',
    accepts: GLOBS,
  },
  nixModuleGlobs: {
    check: globs('globs of the Nix files whose folders become module projects', 'infra/**/*.nix'),
    meaning: 'Nix files whose folders become `type:nix-module` projects.',
    accepts: GLOBS,
  },
  nixModulesBase: {
    check: folder('the folder module project names are relative to', 'infra/nixos', { root: true }),
    meaning: 'Module project names are `nix-` plus the folder path relative to this folder.',
    accepts: 'a folder inside the workspace; `.` allowed',
  },
  featureModules: {
    check: featureFolder,
    meaning:
      'The folder of the Nix module of each `profile.json` feature, `{feature}` standing for its name (this repository: `"infra/nixos/modules/services/{feature}"`). A profile then depends on the modules of the features it turns on, and nothing else depends on a feature module: a base configuration that imports them all does not make every profile and test depend on every module. See [the import graph](../explanation/nix-import-graph.md#feature-modules). `""` means none.',
    accepts: 'a relative folder with `{feature}` once, as a whole folder name, no glob; every feature a profile turns on must have a module project there',
  },
  vmTestDependsOnImage: {
    check: flag,
    meaning: '`vm-test` of a profile depends on its `build-image` and makes the image available (present, substituted or rebuilt) before the tests. The tests themselves never use the image.',
    accepts: '`true` or `false`',
  },
  buildImageTargetName: { check: name('a target name', 'build-image'), meaning: 'Name of the target that builds a profile\'s image.', accepts: TARGET_NAME },
  vmTestTargetName: { check: name('a target name', 'vm-test'), meaning: 'Name of the target that runs NixOS VM tests: a profile\'s, and those of a Nix module folder with a `test.nix`. `<name>-interactive` runs a test\'s interactive driver.', accepts: TARGET_NAME },
  doctorTargetName: { check: name('a target name', 'doctor'), meaning: 'Name of the repository project\'s target that checks the host (Nix, KVM, QEMU).', accepts: `${NAME}; not the same as \`hygieneTargetName\`` },
  launchTargetName: { check: name('a target name', 'launch'), meaning: 'Name of the target that runs a profile\'s image under QEMU in the foreground (continuous).', accepts: TARGET_NAME },
  startTargetName: { check: name('a target name', 'start'), meaning: 'Name of the target that starts a profile\'s VM in the background (the detached launch).', accepts: TARGET_NAME },
  stopTargetName: { check: name('a target name', 'stop'), meaning: 'Name of the target that stops a profile\'s VM.', accepts: TARGET_NAME },
  statusTargetName: { check: name('a target name', 'status'), meaning: 'Name of the target that shows a profile\'s VM instances.', accepts: TARGET_NAME },
  sshTargetName: { check: name('a target name', 'ssh'), meaning: 'Name of the target that opens a shell in (or runs a command on) a profile\'s running VM over SSH.', accepts: TARGET_NAME },
  secretsTargetName: { check: name('a target name', 'secrets'), meaning: 'Name of the target that installs secrets into a profile\'s running VM over SSH, restarting only what uses a changed one.', accepts: TARGET_NAME },
  buildVmTargetName: {
    check: name('a target name', 'build-vm'),
    meaning: 'Name of the target that builds a profile\'s development VM (`nixosConfigurations.<profile>.config.system.build.vm`, as `nixos-rebuild build-vm` does): no disk image. See [Iterate on a module in seconds](../how-to/iterate-on-a-module.md).',
    accepts: TARGET_NAME,
  },
  launchVmTargetName: {
    check: name('a target name', 'launch-vm'),
    meaning: 'Name of the target that runs a profile\'s development VM in the foreground (continuous; depends on `build-vm`).',
    accepts: TARGET_NAME,
  },
  startVmTargetName: {
    check: name('a target name', 'start-vm'),
    meaning: 'Name of the target that starts a profile\'s development VM in the background (`launch-vm --detach`).',
    accepts: TARGET_NAME,
  },
  hygieneTargetName: { check: name('a target name', 'hygiene'), meaning: 'Name of the hygiene target of the repository project and of each profile.', accepts: TARGET_NAME },
  docsCheckTargetName: { check: name('a target name', 'docs-check'), meaning: 'Name of the documentation project\'s target that checks the docs.', accepts: NAME },
  docsDir: { check: folder('the documentation folder', 'docs'), meaning: 'Folder of the documentation project.', accepts: FOLDER },
  docsProjectName: {
    check: (option, value) => (value === false ? false : name('a project name, or false for no documentation project', 'docs')(option, value)),
    meaning: 'Name of the documentation project; `false` for none (a workspace that has a documentation project of its own).',
    accepts: 'a name, or `false`; differs from `repoProjectName`',
  },
  outputDir: {
    check: folder('the folder for images, logs, test reports and VM instances', 'artifacts'),
    meaning:
      'Folder of everything the targets write: image manifests and out-links (`<outputDir>/images/<profile>/`), build logs, VM test reports, VM instances. Hygiene treats it as the artifacts folder (its `artifactsDir`), and the init generator keeps it out of Git but for its README.',
    accepts: 'a folder inside the workspace',
  },
  hygiene: {
    check: executorOptions('hygiene'),
    meaning: 'Options of the hygiene executor for every target that runs it ([hygiene reference](hygiene.md)).',
    accepts: 'an object; its `allowlist` and `profilePaths` follow the path and glob rules above',
  },
  docsCheck: {
    check: executorOptions('docs-check'),
    meaning: 'Options of the docs-check executor ([docs-check reference](docs-check.md)).',
    accepts: 'an object; its `allowlist` follows the path rules above; `retiredCommands` is checked when docs-check runs ([docs-check reference](docs-check.md#commands))',
  },
};

/** How the reference describes `sharing`, whose keys are listed with the executor options they set. */
export const SHARING_OPTION_DOC = {
  meaning: 'Binary caches, remote builders and pushing for every profile target.',
  accepts: 'an object; see [Plugin option sharing](executors.md#plugin-option-sharing)',
};

/** Options whose values name targets of one project: two of them with the same value would make one target of two. */
const SAME_PROJECT_TARGETS: (keyof ResolvedPluginOptions)[][] = [
  ['buildImageTargetName', 'vmTestTargetName', 'launchTargetName', 'startTargetName', 'stopTargetName', 'statusTargetName', 'sshTargetName', 'secretsTargetName', 'buildVmTargetName', 'launchVmTargetName', 'startVmTargetName', 'hygieneTargetName'],
  ['doctorTargetName', 'hygieneTargetName'],
];

/** The options with defaults filled in, each checked: a wrong value is an error naming nx.json, the option, the reason and the fix. */
export function resolveOptions(options: NixosPluginOptions | undefined): ResolvedPluginOptions {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options)))
    throw new Error(`nx.json: the options of plugin @rave/nx-nixos must be an object, got ${shown(options)}. Write them as "options": { ... } in its entry of "plugins".`);
  const resolved = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options ?? {}) as [keyof ResolvedPluginOptions, never][]) {
    if (!(key in DEFAULT_OPTIONS))
      throw new Error(`nx.json: unknown option "${key}" for plugin @rave/nx-nixos. Known options: ${Object.keys(DEFAULT_OPTIONS).join(', ')}.`);
    if (value === undefined) continue;
    resolved[key] = key === 'sharing' ? value : (PLUGIN_OPTION_SCHEMA[key].check(key, value) as never);
  }
  for (const group of SAME_PROJECT_TARGETS) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        if (resolved[group[i]] === resolved[group[j]])
          throw new Error(
            `nx.json: options "${group[i]}" and "${group[j]}" of plugin @rave/nx-nixos are both ${shown(resolved[group[i]])}, so one project would get one target for both. Give them different names.`,
          );
      }
    }
  }
  if (resolved.docsProjectName !== false && resolved.repoProjectName === resolved.docsProjectName)
    throw invalid('repoProjectName', `${shown(resolved.repoProjectName)} is the name of the documentation project (option docsProjectName)`, 'Pick another name for the repository project, e.g. "repo".');
  if (resolved.sharing === DEFAULT_OPTIONS.sharing) return resolved;
  if (resolved.sharing === null || typeof resolved.sharing !== 'object' || Array.isArray(resolved.sharing))
    throw invalid('sharing', `expected an object, got ${shown(resolved.sharing)}`, `Known keys of "sharing": ${SHARING_KEYS.join(', ')}.`);
  const sharing = sharingSchema().safeParse(resolved.sharing);
  if (!sharing.success) {
    const issue = sharing.error.issues[0];
    const where = ['sharing', ...issue.path].join('.');
    throw new Error(
      `nx.json: option "${where}" of plugin @rave/nx-nixos is invalid: ${issue.message}. Known keys of "sharing": ${SHARING_KEYS.join(', ')}.`,
    );
  }
  resolved.sharing = sharing.data;
  return resolved;
}
