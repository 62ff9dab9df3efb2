import { logger, readNxJson, updateNxJson, writeJson, type Tree } from '@nx/devkit';
import { DEFAULT_OPTIONS, resolveOptions, type NixosPluginOptions, type ResolvedPluginOptions } from '../../plugin/options';
import { assertReadableInside, assertWritableInside, GeneratorInputError } from '../inside';
import { PLUGIN_NAME, pluginEntry } from '../plugin-config';
import { doctorCommand, useWorkspaceNames } from '../../layout';

/** The target names the plugin infers: init writes each of them into nx.json, so a workspace sees and can rename them. */
export const TARGET_NAME_OPTIONS = [
  'buildImageTargetName',
  'vmTestTargetName',
  'launchTargetName',
  'startTargetName',
  'stopTargetName',
  'statusTargetName',
  'hygieneTargetName',
  'doctorTargetName',
  'docsCheckTargetName',
] as const;

type TargetNameOption = (typeof TARGET_NAME_OPTIONS)[number];

export type InitGeneratorOptions = Partial<Record<TargetNameOption, string>> & {
  profilesDir?: string;
  docsDir?: string;
  nixModuleGlobs?: string[] | string;
  outputDir?: string;
  repoProjectName?: string;
  docsProjectName?: string;
  /** false: no documentation project (the workspace has its own). Default true. */
  docsProject?: boolean;
};

/** The plugin entry init writes: every target name (given or default), and the other options that were given. */
function entryOptions(options: InitGeneratorOptions): NixosPluginOptions {
  const entry: Record<string, unknown> = {};
  for (const key of TARGET_NAME_OPTIONS) entry[key] = options[key] ?? DEFAULT_OPTIONS[key];
  for (const key of ['profilesDir', 'docsDir', 'outputDir', 'repoProjectName', 'docsProjectName'] as const) if (options[key] !== undefined) entry[key] = options[key];
  if (options.nixModuleGlobs !== undefined)
    entry.nixModuleGlobs = typeof options.nixModuleGlobs === 'string' ? options.nixModuleGlobs.split(',').map((glob) => glob.trim()) : options.nixModuleGlobs;
  if (options.docsProject === false) entry.docsProjectName = false;
  return entry;
}

/** The same checks as graph inference, before anything is written: --profilesDir ../x is refused here. */
function checked(entry: NixosPluginOptions): ResolvedPluginOptions {
  try {
    return resolveOptions(entry);
  } catch (e) {
    const message = (e as Error).message;
    const option = /option "([\w.[\]]+)"/.exec(message)?.[1]?.replace(/\[.*$/, '');
    throw new GeneratorInputError(option ? `--${option}: ${message.replace(/^nx\.json: option "[^"]+" of plugin @rave\/nx-nixos is invalid: /, '')}` : message.replace(/^nx\.json: /, ''));
  }
}

const readmeText = (outputDir: string) => `# ${outputDir}/

Build outputs that must never be committed: images, logs, test reports and VM instances written by
the ${PLUGIN_NAME} targets. Only this README is tracked.
`;

export const outputIgnoreRules = (outputDir: string) => [`/${outputDir}/*`, `!/${outputDir}/README.md`];

/**
 * Registers the plugin in nx.json (created when missing) with the options given, and keeps the output folder
 * out of Git but for its README. An existing registration is kept as it is. Idempotent: running it twice
 * changes nothing the second time.
 */
export default async function initGenerator(tree: Tree, options: InitGeneratorOptions = {}) {
  const existing = pluginEntry(tree);
  const requested = entryOptions(options);
  const plugin = existing ? resolveOptions(existing.options) : checked(requested);
  useWorkspaceNames(plugin);
  const readme = `${plugin.outputDir}/README.md`;
  for (const file of ['.gitignore', readme]) assertWritableInside(tree, file, 'The file');
  if (tree.exists('.gitignore')) assertReadableInside(tree, '.gitignore', 'The file');

  if (!existing) {
    const entry = { plugin: PLUGIN_NAME, options: requested };
    const nxJson = readNxJson(tree);
    // updateNxJson changes an existing nx.json only: a workspace without one gets it written here.
    if (nxJson) updateNxJson(tree, { ...nxJson, plugins: [...(nxJson.plugins ?? []), entry] });
    else writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json', plugins: [entry] });
  }
  const gitignore = tree.exists('.gitignore') ? tree.read('.gitignore', 'utf-8')! : '';
  const lines = gitignore.split('\n');
  const missing = outputIgnoreRules(plugin.outputDir).filter((rule) => !lines.includes(rule));
  if (missing.length) {
    const prefix = gitignore === '' || gitignore.endsWith('\n') ? gitignore : `${gitignore}\n`;
    tree.write('.gitignore', `${prefix}${prefix ? '\n' : ''}# VM images, logs and test reports (written by ${PLUGIN_NAME})\n${missing.join('\n')}\n`);
  }
  if (!tree.exists(readme)) tree.write(readme, readmeText(plugin.outputDir));

  const ignored = existing && Object.keys(options).length > 0;
  return () => {
    const doctor = doctorCommand();
    const lines = [
      existing ? `${PLUGIN_NAME} is already registered in nx.json; its options there were kept.` : `${PLUGIN_NAME} is registered in nx.json.`,
      ...(ignored ? ['  To change them, edit its entry in nx.json "plugins".'] : []),
      'Next steps:',
      `  ${doctor.padEnd(44)} check Nix, KVM and QEMU`,
      `  ${`npx nx g ${PLUGIN_NAME}:profile <name>`.padEnd(44)} add a profile under ${plugin.profilesDir}/ (or --from an existing one)`,
      `  ${'npx nx show projects'.padEnd(44)} see the inferred projects`,
    ];
    logger.info(lines.join('\n'));
  };
}
