import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesResult, CreateNodesResultV2, CreateNodesV2 } from '@nx/devkit';
import type { Profile } from '../profile/schema';
import { InferenceCache, hashKey, pluginCacheKey } from './cache';
import { NixImportIndex } from './nix-index';
import { entryNixInputs, profileNixInputs } from './nix-inputs';
import { nixModuleProjectName, nixModuleRoot } from './nix-modules';
import { featureModuleRoot, featureOfModuleRoot, resolveOptions, type NixosPluginOptions, type ResolvedPluginOptions } from './options';
import { docsProject, moduleProject, profileProject, repoProject } from './targets';
import { useWorkspaceNames } from '../layout';

export const PLUGIN_FILES_GLOB = '**/{profile.json,flake.nix,README.md,*.nix}';

type NodesResult = [string, CreateNodesResult];
type NodesError = [string, Error];

/** The files of each kind of project; other matches of the glob are left out. */
interface FilesByKind {
  repo: string[];
  docs: string[];
  nix: string[];
  profiles: string[];
}

function filesByKind(files: readonly string[], options: ResolvedPluginOptions): FilesByKind {
  const kinds: FilesByKind = { repo: [], docs: [], nix: [], profiles: [] };
  for (const file of files) {
    if (file === 'flake.nix') kinds.repo.push(file);
    else if (file === `${options.docsDir}/README.md` && options.docsProjectName !== false) kinds.docs.push(file);
    else if (file.endsWith('.nix')) kinds.nix.push(file);
    else if (file.endsWith('/profile.json') && dirname(dirname(file)) === options.profilesDir) kinds.profiles.push(file);
  }
  return kinds;
}

/** What the functions of each kind share in one graph computation. */
interface Inference {
  options: ResolvedPluginOptions;
  knownFiles: ReadonlySet<string>;
  nixIndex: NixImportIndex;
  /** Module folder -> its project name. */
  moduleRoots: Map<string, string>;
  /** The module folder of a .nix file of the workspace, computed once per file. */
  moduleRootOf(file: string): string | undefined;
  /** The folders of feature modules other than `own`, which an evaluation of `own` does not read. */
  othersThan(own: readonly string[]): string[];
  /** Records who owns a project name; returns the earlier owner, to report a clash (which Nx cannot merge) at the file that causes it. */
  claim(name: string, owner: string): string | undefined;
}

function repoNodes(inference: Inference, file: string): NodesResult {
  return [file, { projects: { '.': repoProject(inference.options) } }];
}

function docsNodes(inference: Inference, file: string): NodesResult {
  return [file, { projects: { [dirname(file)]: docsProject(inference.options) } }];
}

/** One project per module folder, inferred from the first of its files; a name clash is an error at that file. */
function moduleNodes(inference: Inference, files: readonly string[], results: NodesResult[], errors: NodesError[]): void {
  const { options, moduleRoots } = inference;
  for (const file of files) {
    const moduleRoot = inference.moduleRootOf(file);
    if (!moduleRoot || moduleRoots.has(moduleRoot)) continue;
    const name = nixModuleProjectName(moduleRoot, options);
    moduleRoots.set(moduleRoot, name);
    const other = inference.claim(name, `the Nix module project of ${moduleRoot}`);
    if (other !== undefined) {
      errors.push([
        file,
        new Error(
          `${file}: the Nix module folder ${moduleRoot} would be project "${name}", but that is the name of ${other}, and Nx project names must be unique. Rename one of the folders, or set the plugin options "nixModulesBase" or "nixModuleGlobs" in nx.json so module projects get other names.`,
        ),
      ]);
      continue;
    }
    const testFile = `${moduleRoot}/test.nix`;
    const testClosure = inference.knownFiles.has(testFile)
      ? entryNixInputs(inference.nixIndex, testFile, options, inference.othersThan([moduleRoot]))
      : undefined;
    results.push([file, { projects: { [moduleRoot]: moduleProject(moduleRoot, name, options, testClosure) } }]);
  }
}

/** The module folders and projects of the features a profile turns on; a feature without one is an error at its field. */
async function enabledFeatureModules(inference: Inference, profile: Profile, file: string): Promise<[string, string][]> {
  const projects: [string, string][] = [];
  for (const [feature, on] of Object.entries(profile.features)) {
    const root = on ? featureModuleRoot(inference.options, feature) : undefined;
    if (!root) continue;
    const project = inference.moduleRoots.get(root);
    if (project === undefined) {
      const { ProfileError } = await import('../profile/load');
      throw new ProfileError(file, [
        {
          path: `$.features.${feature}`,
          reason: `the feature is on, and the plugin option "featureModules" puts its module in ${root}, where there is no Nix module project (no file there matches "nixModuleGlobs"). Create the module in ${root}, or change "featureModules" in nx.json`,
        },
      ]);
    }
    projects.push([root, project]);
  }
  return projects;
}

/**
 * Parses profiles, or takes them from the cache when their content and the plugin code are the same.
 * Parsed profiles are cached, not projects: a project is cheap to build from its profile and closure, and
 * the cache file stays small to read.
 */
function profileLoader(workspaceRoot: string) {
  const profileKey = hashKey(pluginCacheKey());
  const cache = new InferenceCache<Profile>(workspaceRoot, 'nx-nixos-profiles');
  const used: string[] = [];
  return {
    async load(file: string): Promise<Profile> {
      const text = readFileSync(join(workspaceRoot, file));
      const key = hashKey(profileKey, file, text);
      used.push(key);
      let profile = cache.get(key);
      if (!profile) {
        // zod loads only on a cache miss: a warm graph computation stays light.
        const { parseProfile } = await import('../profile/load');
        profile = parseProfile(text.toString('utf8'), file);
        cache.set(key, profile);
      }
      return profile;
    },
    save: () => cache.save(used),
  };
}

async function profileNodes(inference: Inference, profile: Profile, file: string): Promise<NodesResult> {
  const { options } = inference;
  const root = dirname(file);
  const other = inference.claim(profile.name, `the profile of ${root}`);
  if (other !== undefined) {
    const { ProfileError } = await import('../profile/load');
    throw new ProfileError(file, [
      {
        path: '$.name',
        reason: `"${profile.name}" is also the name of ${other}, and Nx project names must be unique. Rename the profile: move ${root} to ${options.profilesDir}/<new-name> and set its "name" to <new-name>`,
      },
    ]);
  }
  const enabled = await enabledFeatureModules(inference, profile, file);
  const closure = profileNixInputs(inference.nixIndex, root, options, inference.othersThan(enabled.map(([moduleRoot]) => moduleRoot)));
  return [file, { projects: { [root]: profileProject(profile, root, options, closure, enabled.map(([, project]) => project)) } }];
}

/**
 * Infers one project per <profilesDir>/<name>/profile.json, the repo project from the root flake.nix,
 * the docs project from <docsDir>/README.md, and one project per Nix module folder.
 */
export async function createNodesForFiles(
  files: readonly string[],
  rawOptions: NixosPluginOptions | undefined,
  context: CreateNodesContextV2,
): Promise<CreateNodesResultV2> {
  const options = resolveOptions(rawOptions);
  useWorkspaceNames(options);
  const kinds = filesByKind(files, options);
  const knownFiles = new Set(files);
  const nixIndex = new NixImportIndex(context.workspaceRoot, options, { knownFiles });
  const moduleRootOf = new Map(files.flatMap((f) => (f.endsWith('.nix') ? [[f, nixModuleRoot(f, options)] as const] : [])));
  const featureRoots = [...new Set(moduleRootOf.values())].filter((root): root is string => root !== undefined && featureOfModuleRoot(options, root) !== undefined);
  nixIndex.featureModuleRoots = featureRoots;
  const owners = new Map<string, string>();
  const inference: Inference = {
    options,
    knownFiles,
    nixIndex,
    moduleRoots: new Map(),
    moduleRootOf: (file) => moduleRootOf.get(file),
    othersThan: (own) => featureRoots.filter((r) => !own.includes(r)),
    claim: (name, owner) => {
      const other = owners.get(name);
      if (other === undefined) owners.set(name, owner);
      return other;
    },
  };

  const results: NodesResult[] = [];
  const errors: NodesError[] = [];
  for (const file of kinds.repo) {
    inference.claim(options.repoProjectName, 'the repository project (option "repoProjectName")');
    results.push(repoNodes(inference, file));
  }
  for (const file of kinds.docs) {
    inference.claim(options.docsProjectName || 'docs', `the documentation project of ${options.docsDir} (option "docsProjectName")`);
    results.push(docsNodes(inference, file));
  }
  moduleNodes(inference, kinds.nix, results, errors);
  // Profiles after every other project, so that a clash is reported at the profile.
  const profiles = profileLoader(context.workspaceRoot);
  for (const file of kinds.profiles) {
    try {
      results.push(await profileNodes(inference, await profiles.load(file), file));
    } catch (e) {
      errors.push([file, e as Error]);
    }
  }
  profiles.save();
  nixIndex.save();
  if (errors.length > 0) {
    const { AggregateCreateNodesError } = await import('@nx/devkit');
    throw new AggregateCreateNodesError(errors, results);
  }
  return results;
}

export const createNodesV2: CreateNodesV2<NixosPluginOptions> = [PLUGIN_FILES_GLOB, createNodesForFiles];
