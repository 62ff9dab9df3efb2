import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { git } from '../git/git';
import { readExecutors } from '../reference/schemas';
import { helpText, overConfigured, parseFlags, type FlagsSpec, type OptionSchema } from './flags';
import type { CliCommand } from './main';
import { pluginOptions } from './plugin-options';

/** The flags are the executor's options (schema.json, generated from src/checks/hygiene/options.ts). */
export function flagsSpec(): FlagsSpec {
  return {
    usage: 'Usage: nx-nixos hygiene [DIR] [options]',
    intro: `Checks the Git working tree DIR (default: the repository of the current folder) for VM disk
images outside the artifacts folder, large files outside Git LFS, broken LFS pointers, plaintext
secrets (Nix options, SOPS files, private keys, well-known tokens) and references to legacy folders.
Options of the @rave/nx-nixos plugin in DIR/nx.json ("hygiene": {...}) apply; flags override them.`,
    properties: readExecutors().find((e) => e.name === 'hygiene')!.schema.properties as Record<string, OptionSchema>,
    rename: {
      output: { flag: 'output', value: 'FILE' },
      allowlist: { flag: 'allowlist', value: 'FILE' },
      rules: { flag: 'rule', value: 'ID=LEVEL' },
      legacyFolders: { flag: 'legacy', value: 'DIR' },
      profileRoot: { flag: 'profile-root', value: 'DIR' },
      profilePaths: { flag: 'profile-paths', value: 'GLOB' },
      sopsFiles: { flag: 'sops-files', value: 'FILE' },
      exclude: { flag: 'exclude', value: 'GLOB' },
      untracked: { flag: 'tracked-only', negated: true },
    },
    outro: `Exit codes: 0 no findings at the fail level, 1 findings, 2 the check could not run.
As a pre-commit hook (.git/hooks/pre-commit):  exec npx nx-nixos hygiene --tracked-only`,
  };
}

/** What a profile's evaluation reads besides its folder, as <profile>:hygiene gets it from the project graph. */
async function profileClosureGlobs(root: string, profileRoot: string, plugin: Record<string, unknown>): Promise<string[]> {
  const { resolveOptions } = await import('../plugin/options');
  const { NixImportIndex } = await import('../plugin/nix-index');
  const { profileNixInputs } = await import('../plugin/nix-inputs');
  const { workspaceGlobs } = await import('../checks/hygiene/scope');
  const options = resolveOptions(plugin);
  const closure = profileNixInputs(new NixImportIndex(root, options), profileRoot.replace(/\/+$/, ''), options);
  return [...workspaceGlobs(closure), ...options.nixInputs];
}

export const command: CliCommand = {
  summary: 'Check the repository for stray VM images, files that belong in LFS, plaintext secrets and stale references.',
  async run(argv) {
    const spec = flagsSpec();
    const { help, positionals, given } = parseFlags(spec, argv);
    if (help) {
      console.log(helpText(spec));
      return 0;
    }
    if (positionals.length > 1) throw new Error(`expected one repository folder, got ${positionals.join(' ')}.`);
    const dir = resolve(positionals[0] ?? '.');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder; pass the repository to check.`);
    let root: string;
    try {
      root = git(dir, ['rev-parse', '--show-toplevel']).trim();
    } catch {
      throw new Error(`${dir} is not inside a Git working tree: hygiene lists files with git ls-files.`);
    }
    const plugin = pluginOptions(root, 'hygiene');
    // The plugin's output folder is hygiene's artifacts folder, as in the inferred targets.
    const outputDir: Record<string, unknown> = typeof plugin.outputDir === 'string' ? { artifactsDir: plugin.outputDir } : {};
    // --output names a file from where the command runs; in nx.json it is relative to the workspace root.
    if (typeof given.output === 'string') given.output = resolve(given.output);
    const options = overConfigured({ ...outputDir, ...((plugin.hygiene as Record<string, unknown>) ?? {}) }, given);
    if (options.scope === 'profile' && typeof options.profileRoot === 'string') {
      const extra: unknown[] = Array.isArray(options.profilePaths) ? options.profilePaths : [];
      options.profilePaths = [...new Set([...(await profileClosureGlobs(root, options.profileRoot, plugin)), ...extra])];
    }
    const { runHygiene } = await import('../checks/hygiene/run');
    const run = runHygiene(root, options);
    process.stdout.write(run.stdout);
    for (const message of run.messages) console.error(message);
    return run.exitCode;
  },
};
