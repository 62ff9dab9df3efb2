import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { git } from '../git/git';
import type { CliCommand } from './main';
import { pluginOptions } from './plugin-options';

const HELP = `Usage: nx-nixos hygiene [DIR] [options]

Checks the Git working tree DIR (default: the repository of the current folder) for VM disk
images outside the artifacts folder, large files outside Git LFS, broken LFS pointers, plaintext
secrets (Nix options, SOPS files, private keys, well-known tokens) and references to legacy folders.
Options of the @rave/nx-nixos plugin in DIR/nx.json ("hygiene": {...}) apply; flags override them.

Options:
  --format FORMAT        text | json | sarif | github (default: text)
  --output FILE          write the report to FILE (inside the repository) atomically; print a summary instead
  --allowlist FILE       JSON allowlist of accepted findings, relative to DIR
  --fail-level LEVEL     error | warning | note: lowest severity that fails (default: error)
  --base-ref REF         budget for files added since REF (size/large-new), e.g. origin/main
  --legacy DIR           a legacy folder that must not be referenced; repeatable
  --rule ID=LEVEL        set a rule to error | warning | note | off; repeatable
  --tracked-only         leave out untracked and ignored files
  --scope profile --profile-root DIR   check only a profile folder and what its evaluation reads
                         (the static Nix import closure of its profile.nix and of flake.nix)

Exit codes: 0 no findings at the fail level, 1 findings, 2 the check could not run.
As a pre-commit hook (.git/hooks/pre-commit):  exec npx nx-nixos hygiene --tracked-only`;

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
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        output: { type: 'string' },
        allowlist: { type: 'string' },
        'fail-level': { type: 'string' },
        'base-ref': { type: 'string' },
        legacy: { type: 'string', multiple: true },
        rule: { type: 'string', multiple: true },
        'tracked-only': { type: 'boolean' },
        scope: { type: 'string' },
        'profile-root': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
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
    const outputDir = typeof plugin.outputDir === 'string' ? { artifactsDir: plugin.outputDir } : {};
    const options: Record<string, unknown> = { ...outputDir, ...((plugin.hygiene as Record<string, unknown>) ?? {}) };
    const set = (key: string, value: unknown) => {
      if (value !== undefined) options[key] = value;
    };
    set('format', values.format);
    set('output', values.output === undefined ? undefined : resolve(values.output));
    set('allowlist', values.allowlist);
    set('failLevel', values['fail-level']);
    set('baseRef', values['base-ref']);
    set('scope', values.scope);
    set('profileRoot', values['profile-root']);
    if (values.legacy) options.legacyFolders = values.legacy;
    if (values['tracked-only']) options.untracked = false;
    if (values.rule) {
      const rules: Record<string, string> = { ...((options.rules as Record<string, string>) ?? {}) };
      for (const pair of values.rule) {
        const [id, level, extra] = pair.split('=');
        if (!id || !level || extra !== undefined) throw new Error(`--rule ${pair}: expected ID=LEVEL, e.g. --rule size/large=off.`);
        rules[id] = level;
      }
      options.rules = rules;
    }
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
