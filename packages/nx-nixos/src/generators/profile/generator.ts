import { joinPathFragments, logger, type Tree } from '@nx/devkit';
import { parseProfile } from '../../profile/load';
import { NAME_PATTERN, type ProfileInput } from '../../profile/schema';
import { pluginOptions } from '../plugin-config';

export interface ProfileGeneratorOptions {
  name: string;
  from?: string;
  description?: string;
}

const SCHEMA_FROM_WORKSPACE = 'packages/nx-nixos/schemas/profile.schema.json';
const SCHEMA_FROM_PACKAGE = 'node_modules/@rave/nx-nixos/schemas/profile.schema.json';

/** A NixOS module that changes nothing yet: the place for this profile's own settings. */
const EMPTY_PROFILE_MODULE = (name: string) => `# NixOS module of the "${name}" profile: settings that only this profile has.
# Services are switched on in profile.json ("features"), not here.
{ ... }:
{
}
`;

export class ProfileNameError extends Error {}

function refuse(reason: string): never {
  throw new ProfileNameError(reason);
}

export function validateProfileName(tree: Tree, name: string, reserved: readonly string[], folder: string): void {
  if (!NAME_PATTERN.test(name))
    refuse(`Invalid profile name "${name}": use lower-case letters and digits joined by single dashes, starting with a letter (e.g. "staging" or "dev-small").`);
  if (reserved.includes(name)) refuse(`Invalid profile name "${name}": it is already the name of the ${name} project.`);
  if (tree.exists(folder)) refuse(`Profile "${name}" exists already (${folder}). Pick another name or edit that profile.`);
}

function schemaPath(tree: Tree, folder: string): string {
  const target = tree.exists(SCHEMA_FROM_WORKSPACE) ? SCHEMA_FROM_WORKSPACE : SCHEMA_FROM_PACKAGE;
  const depth = folder.split('/').filter(Boolean).length;
  return `${'../'.repeat(depth)}${target}`;
}

export default async function profileGenerator(tree: Tree, options: ProfileGeneratorOptions) {
  const plugin = pluginOptions(tree);
  const folder = joinPathFragments(plugin.profilesDir, options.name);
  validateProfileName(tree, options.name, [plugin.repoProjectName, 'docs'], folder);

  let profile: ProfileInput;
  if (options.from) {
    const source = joinPathFragments(plugin.profilesDir, options.from);
    const file = `${source}/profile.json`;
    if (!tree.exists(file)) refuse(`--from "${options.from}": ${file} does not exist.`);
    const base = parseProfile(tree.read(file, 'utf-8')!, file);
    profile = { ...base, name: options.name, flake: { attribute: options.name, aliases: [] } };
    if (options.description) profile.description = options.description;
    for (const child of tree.children(source)) {
      if (child === 'profile.json' || !tree.isFile(`${source}/${child}`)) continue;
      tree.write(`${folder}/${child}`, tree.read(`${source}/${child}`)!);
    }
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
    tree.write(`${folder}/profile.nix`, EMPTY_PROFILE_MODULE(options.name));
  }
  const { $schema: _ignored, ...rest } = profile as ProfileInput & { $schema?: string };
  const text = JSON.stringify({ $schema: schemaPath(tree, folder), ...rest }, null, 2) + '\n';
  parseProfile(text, `${folder}/profile.json`); // never write a profile the graph would reject
  tree.write(`${folder}/profile.json`, text);

  return () => {
    logger.info(`Added ${folder}. Track it (flakes only see files Git tracks), then build it:\n  git add ${folder}\n  npx nx run ${options.name}:build-image`);
  };
}
