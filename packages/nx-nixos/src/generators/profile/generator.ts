import { getProjects, logger, type Tree } from '@nx/devkit';
import { posix } from 'node:path';
import { scanPathLiterals } from '../../nix/imports/path-literals';
import { globBase } from '../../glob/glob';
import { parseProfile } from '../../profile/load';
import { NAME_PATTERN, type ProfileInput } from '../../profile/schema';
import { nixModuleProjectName, nixModuleRoot } from '../../plugin/nix-modules';
import type { ResolvedPluginOptions } from '../../plugin/options';
import { assertReadableInside, assertWritableInside, GeneratorInputError, treeFiles } from '../inside';
import { pluginOptions } from '../plugin-config';
import { buildImageCommand, INSTALLED_PROFILE_SCHEMA_PATH, PROFILE_SCHEMA_PATH, profileDir, useWorkspaceNames } from '../../layout';

export interface ProfileGeneratorOptions {
  name: string;
  from?: string;
  description?: string;
}


/**
 * The Nix files that every existing profile's profile.nix lists in `imports` (workspace-relative, sorted):
 * the base configuration a new profile shares with them. Empty when there is no profile to learn from.
 */
export function sharedProfileImports(tree: Tree, profilesDir: string): string[] {
  let shared: Set<string> | undefined;
  for (const name of tree.children(profilesDir).sort()) {
    const folder = profileDir(profilesDir, name);
    const file = `${folder}/profile.nix`;
    if (!tree.isFile(file) || !tree.exists(`${folder}/profile.json`)) continue;
    assertReadableInside(tree, file, 'An existing profile:');
    const imports = new Set(
      scanPathLiterals(tree.read(file, 'utf-8')!)
        .filter((lit) => lit.imported && lit.kind === 'relative' && !lit.dynamic)
        .map((lit) => posix.normalize(posix.join(folder, lit.text)))
        .filter((path) => !path.startsWith(`${folder}/`) && !path.startsWith('../')),
    );
    shared = shared === undefined ? imports : new Set([...shared].filter((path) => imports.has(path)));
  }
  return [...(shared ?? [])].sort();
}

function existingProfiles(tree: Tree, profilesDir: string): ProfileInput[] {
  return tree.children(profilesDir).flatMap((name) => {
    const file = `${profileDir(profilesDir, name)}/profile.json`;
    if (!tree.isFile(file)) return [];
    assertReadableInside(tree, file, 'An existing profile:');
    return [parseProfile(tree.read(file, 'utf-8')!, file)];
  });
}

/** Every feature name that an existing profile.json lists, sorted. */
function knownFeatures(profiles: ProfileInput[]): string[] {
  return [...new Set(profiles.flatMap((profile) => Object.keys(profile.features ?? {})))].sort();
}

/** The flake's check `profile-<name>`, when every existing profile lists its own (as RAVE's flake provides one per profile). */
const ownProfileTest = (profiles: ProfileInput[]) => profiles.length > 0 && profiles.every((p) => (p.tests ?? []).includes(`profile-${p.name}`));

/**
 * The profile's NixOS module, as the profiles beside it are written: it imports their shared base
 * configuration (which brings the image module), hands profile.json to it as `rave.profile`, and switches
 * each service on from profile.json "features". With no base to import, a module that only says so.
 */
export function profileModule(name: string, folder: string, imports: string[], features: string[]): string {
  if (imports.length === 0)
    return `# NixOS module of the "${name}" profile. No other profile.nix was found to learn the shared base
# configuration from: import the module that declares rave.profile and builds the image here.
{ ... }:
{
}
`;
  const importLines = imports.map((path) => `    ${posix.relative(folder, path)}`).join('\n');
  const featureLines = features.map((feature) => `    ${feature}.enable = on ${JSON.stringify(feature)};`).join('\n');
  return `# NixOS module of the "${name}" profile. Which services run comes from profile.json "features", the same
# file the Nx plugin reads, so the image, the welcome dashboard and the launch URLs cannot disagree.
{ ... }:
let
  meta = builtins.fromJSON (builtins.readFile ./profile.json);
  on = feature: meta.features.\${feature} or false;
in
{
  imports = [
${importLines}
  ];

  rave.profile = meta;
${features.length === 0 ? '' : `  services.rave = {\n${featureLines}\n  };\n`}}
`;
}

export class ProfileNameError extends GeneratorInputError {}

function refuse(reason: string): never {
  throw new ProfileNameError(reason);
}

/**
 * Project names a new profile must not take, with what owns them: the projects this plugin infers
 * (repository, docs, one per Nix module folder) and those of project.json and package.json files.
 */
export function takenProjectNames(tree: Tree, plugin: ResolvedPluginOptions): Map<string, string> {
  const taken = new Map<string, string>([
    [plugin.repoProjectName, 'the repository project'],
  ]);
  if (plugin.docsProjectName !== false) taken.set(plugin.docsProjectName, 'the documentation project');
  for (const base of new Set(plugin.nixModuleGlobs.map(globBase))) {
    for (const file of treeFiles(tree, base)) {
      if (!file.endsWith('.nix')) continue;
      const root = nixModuleRoot(file, plugin);
      if (root !== undefined && !taken.has(nixModuleProjectName(root, plugin))) taken.set(nixModuleProjectName(root, plugin), `the Nix module project of ${root}`);
    }
  }
  for (const [name, project] of getProjects(tree)) if (!taken.has(name)) taken.set(name, `the project in ${project.root}`);
  return taken;
}

export function validateProfileName(tree: Tree, name: string, taken: ReadonlyMap<string, string>, folder: string): void {
  if (!NAME_PATTERN.test(name))
    refuse(`Invalid profile name "${name}": use lower-case letters and digits joined by single dashes, starting with a letter (e.g. "staging" or "dev-small").`);
  if (tree.exists(folder)) refuse(`Profile "${name}" exists already (${folder}). Pick another name or edit that profile.`);
  const owner = taken.get(name);
  if (owner !== undefined)
    refuse(`Invalid profile name "${name}": it is already the name of the ${name} project (${owner}), and Nx project names must be unique. Pick another name.`);
}

function schemaPath(tree: Tree, folder: string): string {
  const target = tree.exists(PROFILE_SCHEMA_PATH) ? PROFILE_SCHEMA_PATH : INSTALLED_PROFILE_SCHEMA_PATH;
  const depth = folder.split('/').filter(Boolean).length;
  return `${'../'.repeat(depth)}${target}`;
}

export default async function profileGenerator(tree: Tree, options: ProfileGeneratorOptions) {
  const plugin = pluginOptions(tree);
  useWorkspaceNames(plugin);
  const folder = profileDir(plugin.profilesDir, options.name);
  validateProfileName(tree, options.name, takenProjectNames(tree, plugin), folder);
  assertWritableInside(tree, folder, 'The new profile');

  let profile: ProfileInput;
  if (options.from !== undefined) {
    // A profile name, never a path: --from ../../elsewhere would copy a folder from outside the workspace.
    if (!NAME_PATTERN.test(options.from))
      refuse(`--from "${options.from}": not a profile name. Name a profile of ${plugin.profilesDir}/, e.g. --from development.`);
    const source = profileDir(plugin.profilesDir, options.from);
    const file = `${source}/profile.json`;
    if (!tree.exists(file)) refuse(`--from "${options.from}": ${file} does not exist.`);
    assertReadableInside(tree, file, `--from "${options.from}":`);
    const base = parseProfile(tree.read(file, 'utf-8')!, file);
    // The source's own profile test becomes the new profile's: profile-<from> would test the other profile.
    const tests = base.tests.map((test) => (test === `profile-${options.from}` ? `profile-${options.name}` : test));
    profile = { ...base, name: options.name, flake: { attribute: options.name, aliases: [] }, tests };
    if (options.description) profile.description = options.description;
    const copies: string[] = [];
    for (const child of tree.children(source)) {
      if (child === 'profile.json' || !tree.isFile(`${source}/${child}`)) continue;
      assertReadableInside(tree, `${source}/${child}`, `--from "${options.from}":`);
      copies.push(child);
    }
    for (const child of copies) tree.write(`${folder}/${child}`, tree.read(`${source}/${child}`)!);
  } else {
    profile = {
      name: options.name,
      description: options.description ?? `The ${options.name} profile.`,
      system: 'x86_64-linux',
      flake: { attribute: options.name, aliases: [] },
      image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2' },
      features: {},
      resources: { memoryMiB: 4096, cpus: 2, diskGiB: 20 },
      ports: [{ name: 'ssh', guest: 22, host: 2222 }],
      services: [{ name: 'SSH', port: 'ssh', scheme: 'ssh', path: '/' }],
      readiness: { port: 'ssh', probe: 'ssh-banner', path: '/', timeoutSeconds: 600 },
      tests: [],
    };
    const imports = sharedProfileImports(tree, plugin.profilesDir);
    const others = existingProfiles(tree, plugin.profilesDir);
    const features = imports.length === 0 ? [] : knownFeatures(others);
    profile.features = Object.fromEntries(features.map((feature) => [feature, false]));
    if (ownProfileTest(others)) profile.tests = [`profile-${options.name}`];
    if (imports.length === 0)
      logger.warn(`No profile.nix under ${plugin.profilesDir}/ to learn the base configuration from: ${folder}/profile.nix imports nothing; import your base NixOS module there before building.`);
    tree.write(`${folder}/profile.nix`, profileModule(options.name, folder, imports, features));
  }
  const { $schema: _ignored, ...rest } = profile as ProfileInput & { $schema?: string };
  const text = JSON.stringify({ $schema: schemaPath(tree, folder), ...rest }, null, 2) + '\n';
  parseProfile(text, `${folder}/profile.json`); // never write a profile the graph would reject
  tree.write(`${folder}/profile.json`, text);

  return () => {
    logger.info(`Added ${folder}. Track it (flakes only see files Git tracks), then build it:\n  git add ${folder}\n  ${buildImageCommand(options.name)}`);
  };
}
