import { logger, readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { resolveOptions } from '../../plugin/options';
import { assertReadableInside, assertWritableInside, GeneratorInputError } from '../inside';
import { PLUGIN_NAME, pluginEntry } from '../plugin-config';
import { ARTIFACTS_DIR, ARTIFACTS_README } from '../../layout';

export interface InitGeneratorOptions {
  profilesDir?: string;
}

export const ARTIFACTS_IGNORE = [`/${ARTIFACTS_DIR}/*`, `!/${ARTIFACTS_README}`];

const README_TEXT = `# ${ARTIFACTS_DIR}/

Build outputs that must never be committed: images, logs, test reports and VM instances written by
the @rave/nx-nixos targets. Only this README is tracked.
`;

/** Idempotent: running it twice changes nothing the second time. */
export default async function initGenerator(tree: Tree, options: InitGeneratorOptions = {}) {
  const nxJson = readNxJson(tree) ?? {};
  const pluginOptions = options.profilesDir && options.profilesDir !== 'profiles' ? { profilesDir: options.profilesDir } : {};
  // The same checks as graph inference, before anything is written: --profilesDir ../x is refused here.
  try {
    resolveOptions(pluginOptions);
  } catch (e) {
    throw new GeneratorInputError(`--profilesDir: ${(e as Error).message.replace(/^nx\.json: option "profilesDir" of plugin @rave\/nx-nixos is invalid: /, '')}`);
  }
  for (const file of ['.gitignore', ARTIFACTS_README]) assertWritableInside(tree, file, 'The file');
  if (tree.exists('.gitignore')) assertReadableInside(tree, '.gitignore', 'The file');
  if (!pluginEntry(tree)) {
    updateNxJson(tree, { ...nxJson, plugins: [...(nxJson.plugins ?? []), { plugin: PLUGIN_NAME, options: pluginOptions }] });
  }
  const gitignore = tree.exists('.gitignore') ? tree.read('.gitignore', 'utf-8')! : '';
  const lines = gitignore.split('\n');
  const missing = ARTIFACTS_IGNORE.filter((rule) => !lines.includes(rule));
  if (missing.length) {
    const prefix = gitignore === '' || gitignore.endsWith('\n') ? gitignore : `${gitignore}\n`;
    tree.write('.gitignore', `${prefix}${prefix ? '\n' : ''}# VM images, logs and test reports (written by @rave/nx-nixos)\n${missing.join('\n')}\n`);
  }
  if (!tree.exists(ARTIFACTS_README)) tree.write(ARTIFACTS_README, README_TEXT);

  return () => {
    logger.info(
      [
        `${PLUGIN_NAME} is set up. Next steps:`,
        '  npx nx run repo:doctor                      check Nix, KVM and QEMU',
        '  npx nx g @rave/nx-nixos:profile <name>      add a profile (or --from an existing one)',
        '  npx nx show projects                        see the inferred projects',
      ].join('\n'),
    );
  };
}
