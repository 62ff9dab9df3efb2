import type { z } from 'zod';

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
  buildImageTargetName?: string;
  vmTestTargetName?: string;
  doctorTargetName?: string;
  launchTargetName?: string;
  /** The detached launch (launch itself is continuous). Default "start". */
  startTargetName?: string;
  stopTargetName?: string;
  statusTargetName?: string;
  hygieneTargetName?: string;
  docsCheckTargetName?: string;
  /** Folder of the documentation project. Default "docs". */
  docsDir?: string;
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports
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
export const LAUNCH_SHARING_KEYS = ['substituters', 'trustedPublicKeys', 'builders', 'maxJobs', 'systemFeatures'] as const;

export type ResolvedPluginOptions = Required<NixosPluginOptions>;

export const DEFAULT_OPTIONS: ResolvedPluginOptions = {
  profilesDir: 'profiles',
  flakeRef: '.',
  repoProjectName: 'repo',
  nixInputs: [],
  nixModuleGlobs: ['infra/**/*.nix'],
  nixModulesBase: 'infra/nixos',
  buildImageTargetName: 'build-image',
  vmTestTargetName: 'vm-test',
  doctorTargetName: 'doctor',
  launchTargetName: 'launch',
  startTargetName: 'start',
  stopTargetName: 'stop',
  statusTargetName: 'status',
  hygieneTargetName: 'hygiene',
  docsCheckTargetName: 'docs-check',
  docsDir: 'docs',
  hygiene: {},
  docsCheck: {},
  sharing: {},
};

export function resolveOptions(options: NixosPluginOptions | undefined): ResolvedPluginOptions {
  const resolved = { ...DEFAULT_OPTIONS };
  for (const [key, value] of Object.entries(options ?? {}) as [keyof ResolvedPluginOptions, never][]) {
    if (!(key in DEFAULT_OPTIONS))
      throw new Error(`nx.json: unknown option "${key}" for plugin @rave/nx-nixos. Known options: ${Object.keys(DEFAULT_OPTIONS).join(', ')}.`);
    if (value !== undefined) resolved[key] = value;
  }
  if (resolved.sharing === DEFAULT_OPTIONS.sharing) return resolved;
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
