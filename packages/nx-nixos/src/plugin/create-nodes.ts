import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CreateNodesContextV2, CreateNodesResult, CreateNodesResultV2, CreateNodesV2 } from '@nx/devkit';
import type { Profile } from '../profile/schema';
import { InferenceCache, hashKey, pluginCacheKey } from './cache';
import { entryNixInputs, NixImportIndex, nixModuleProjectName, nixModuleRoot, profileNixInputs } from './nix-graph';
import { featureModuleRoot, featureOfModuleRoot, resolveOptions, type NixosPluginOptions } from './options';
import { docsProject, moduleProject, profileProject, repoProject } from './targets';

export const PLUGIN_FILES_GLOB = '**/{profile.json,flake.nix,README.md,*.nix}';

/**
 * Infers one project per <profilesDir>/<name>/profile.json, the repo project from the root flake.nix,
 * and the docs project from <docsDir>/README.md.
 */
export async function createNodesForFiles(
  files: readonly string[],
  rawOptions: NixosPluginOptions | undefined,
  context: CreateNodesContextV2,
): Promise<CreateNodesResultV2> {
  const options = resolveOptions(rawOptions);
  // Parsed profiles are cached (by content and plugin code), not projects: a project is cheap to build
  // from its profile and closure, and the cache file stays small to read.
  const profileKey = hashKey(pluginCacheKey());
  const cache = new InferenceCache<Profile>(context.workspaceRoot, 'nx-nixos-profiles');
  const used: string[] = [];
  const results: [string, CreateNodesResult][] = [];
  const errors: [string, Error][] = [];
  const fileSet = new Set(files);
  const nixIndex = new NixImportIndex(context.workspaceRoot, options, { knownFiles: fileSet });
  /** Module folder -> its project name. */
  const moduleRoots = new Map<string, string>();
  const featureRoots = [...new Set(files.flatMap((f) => (f.endsWith('.nix') ? [nixModuleRoot(f, options) ?? ''] : [])))].filter(
    (root) => root && featureOfModuleRoot(options, root) !== undefined,
  );
  nixIndex.featureModuleRoots = featureRoots;
  const othersThan = (own: readonly string[]) => featureRoots.filter((r) => !own.includes(r));

  // Who owns each project name, to report a clash (which Nx cannot merge) at the file that causes it.
  const owners = new Map<string, string>();
  const claim = (name: string, owner: string) => {
    const other = owners.get(name);
    if (other === undefined) owners.set(name, owner);
    return other;
  };
  if (files.includes('flake.nix')) claim(options.repoProjectName, 'the repository project (option "repoProjectName")');
  if (files.includes(`${options.docsDir}/README.md`)) claim('docs', `the documentation project of ${options.docsDir}`);
  const profiles: string[] = [];

  for (const file of files) {
    if (file === 'flake.nix') {
      results.push([file, { projects: { '.': repoProject(options) } }]);
      continue;
    }
    const root = dirname(file);
    if (file === `${options.docsDir}/README.md`) {
      results.push([file, { projects: { [root]: docsProject(options) } }]);
      continue;
    }
    if (file.endsWith('.nix')) {
      const moduleRoot = nixModuleRoot(file, options);
      if (moduleRoot && !moduleRoots.has(moduleRoot)) {
        const name = nixModuleProjectName(moduleRoot, options);
        moduleRoots.set(moduleRoot, name);
        const other = claim(name, `the Nix module project of ${moduleRoot}`);
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
        const testClosure = fileSet.has(testFile) ? entryNixInputs(nixIndex, testFile, options, othersThan([moduleRoot])) : undefined;
        results.push([file, { projects: { [moduleRoot]: moduleProject(moduleRoot, name, options, testClosure) } }]);
      }
      continue;
    }
    if (!file.endsWith('/profile.json') || dirname(root) !== options.profilesDir) continue;
    profiles.push(file);
  }

  /** The module folders and projects of the features a profile turns on; a feature without one is an error at its field. */
  const enabledFeatureModules = async (profile: Profile, file: string) => {
    const projects: [string, string][] = [];
    for (const [feature, on] of Object.entries(profile.features)) {
      const root = on ? featureModuleRoot(options, feature) : undefined;
      if (!root) continue;
      const project = moduleRoots.get(root);
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
  };

  // Profiles after every other project, so that a clash is reported at the profile.
  for (const file of profiles) {
    const root = dirname(file);
    try {
      const text = readFileSync(join(context.workspaceRoot, file));
      const key = hashKey(profileKey, file, text);
      used.push(key);
      let profile = cache.get(key);
      if (!profile) {
        // zod loads only on a cache miss: a warm graph computation stays light.
        const { parseProfile } = await import('../profile/load');
        profile = parseProfile(text.toString('utf8'), file);
        cache.set(key, profile);
      }
      const other = claim(profile.name, `the profile of ${root}`);
      if (other !== undefined) {
        const { ProfileError } = await import('../profile/load');
        throw new ProfileError(file, [
          {
            path: '$.name',
            reason: `"${profile.name}" is also the name of ${other}, and Nx project names must be unique. Rename the profile: move ${root} to ${options.profilesDir}/<new-name> and set its "name" to <new-name>`,
          },
        ]);
      }
      const enabled = await enabledFeatureModules(profile, file);
      const closure = profileNixInputs(nixIndex, root, options, othersThan(enabled.map(([moduleRoot]) => moduleRoot)));
      results.push([file, { projects: { [root]: profileProject(profile, root, options, closure, enabled.map(([, project]) => project)) } }]);
    } catch (e) {
      errors.push([file, e as Error]);
    }
  }
  cache.save(used);
  nixIndex.save();
  if (errors.length > 0) {
    const { AggregateCreateNodesError } = await import('@nx/devkit');
    throw new AggregateCreateNodesError(errors, results);
  }
  return results;
}

export const createNodesV2: CreateNodesV2<NixosPluginOptions> = [PLUGIN_FILES_GLOB, createNodesForFiles];
