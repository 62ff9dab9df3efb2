import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { git } from '../git/git';
import type { DocsCheckOptions } from '../checks/docs/options';
import { readExecutors } from '../reference/schemas';
import { helpText, overConfigured, parseFlags, type FlagsSpec, type OptionSchema } from './flags';
import type { CliCommand } from './main';
import { optionProblem } from './option-problem';
import { pluginOptions } from './plugin-options';

/** The flags are the executor's options (schema.json, generated from src/checks/docs/options.ts). */
export function flagsSpec(): FlagsSpec {
  return {
    usage: 'Usage: nx-nixos docs-check [DIR] [options]',
    intro: `Checks the docs folder DIR (default: the docsDir of nx.json, else docs) and every README.md of the repository: links and
anchors as GitHub resolves them, the Divio structure, orphan and stub pages, retired commands,
and nx commands quoted in code against the Nx project graph.
Options of the @rave/nx-nixos plugin in the root's nx.json ("docsCheck": {...}) apply; flags override them.`,
    properties: readExecutors().find((e) => e.name === 'docs-check')!.schema.properties as Record<string, OptionSchema>,
    omit: ['docsDir'],
    rename: { allowlist: { flag: 'allowlist', value: 'FILE' }, exclude: { flag: 'exclude', value: 'GLOB' }, moved: { flag: 'moved', value: 'OLD=NEW' }, disabledRules: { flag: 'disable', value: 'RULE' } },
    extra: {
      root: {
        type: 'string',
        value: 'DIR',
        help: 'repository root (default: nearest folder above DIR with nx.json, else the Git top level); DIR must be inside it, and only regular files inside it are read',
      },
    },
    outro: 'Exit codes: 0 no findings, 1 findings, 2 the check could not run.',
  };
}

function findRoot(dir: string): string {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, 'nx.json'))) return current;
    if (dirname(current) === current) break;
  }
  try {
    return git(dir, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return dir;
  }
}

/** The real path of a folder argument; `problem` says what is wrong when it is not one. */
function realFolder(path: string, problem: string): string {
  let real: string;
  try {
    real = realpathSync.native(resolve(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${resolve(path)} ${code === 'ENOENT' || code === 'ENOTDIR' ? problem : `cannot be read (${code})`}.`, { cause: e });
  }
  if (!statSync(real).isDirectory()) throw new Error(`${resolve(path)} ${problem}.`);
  return real;
}

export const command: CliCommand = {
  summary: 'Check the docs: links, anchors, Divio structure, stubs, and nx commands against the project graph.',
  async run(argv) {
    const spec = flagsSpec();
    const { help, positionals, given, extra } = parseFlags(spec, argv);
    if (help) {
      console.log(helpText(spec));
      return 0;
    }
    if (positionals.length > 1) throw new Error(`expected one docs folder, got ${positionals.join(' ')}.`);
    const rootFlag = extra.root as string | undefined;
    // Symlinks resolved: DIR must really be inside the root, not only by name.
    const givenRoot = rootFlag ? realFolder(rootFlag, 'is not a folder; pass the repository root as --root') : undefined;
    // Without DIR: the docs folder nx.json names (docsCheck.docsDir, else docsDir), else docs, in the root.
    const nxRoot = givenRoot ?? (positionals[0] === undefined ? findRoot(process.cwd()) : undefined);
    const plugin = nxRoot === undefined ? undefined : pluginOptions(nxRoot, 'docsCheck');
    const configuredDir = (plugin?.docsCheck as DocsCheckOptions | undefined)?.docsDir ?? plugin?.docsDir;
    const dir = realFolder(positionals[0] ?? (nxRoot && typeof configuredDir === 'string' ? join(nxRoot, configuredDir) : 'docs'), 'is not a folder; pass the docs folder to check');
    const root = givenRoot ?? findRoot(dir);
    const rel = relative(root, dir);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new Error(`${dir} is outside the root ${root}; pass --root to the repository that contains it.`);
    const docsDir = rel.split(sep).join('/');
    const fromNx = (root === nxRoot ? plugin : pluginOptions(root, 'docsCheck'))?.docsCheck ?? {};
    const { docsCheckOptionsSchema } = await import('../checks/docs/options');
    const problem = optionProblem(docsCheckOptionsSchema, fromNx, 'docsCheck');
    if (problem)
      throw new Error(`${join(root, 'nx.json')}: option "${problem.path}" of plugin @rave/nx-nixos is invalid: ${problem.reason}. Set it as npx nx-nixos help docs-check describes, or remove it.`);
    const { docsDir: _docsDir, ...fromConfig } = fromNx as DocsCheckOptions;
    const configured = overConfigured(fromConfig, given);

    let graph;
    const messages: string[] = [];
    if (configured.graph !== false) {
      if (existsSync(join(root, 'nx.json'))) {
        const { loadProjectTargets } = await import('../checks/docs/graph');
        try {
          graph = await loadProjectTargets(root);
        } catch (e) {
          throw new Error(`cannot read the Nx project graph of ${root}: ${(e as Error).message}. Pass --no-graph to skip docs/stale-command.`, { cause: e });
        }
      } else messages.push(`${root} has no nx.json: docs/stale-command is skipped.`);
    }
    const { runDocsCheck } = await import('../checks/docs/run');
    const run = await runDocsCheck({
      ...configured,
      root,
      docsDir: docsDir || '.',
      graph,
    });
    process.stdout.write(run.report);
    for (const message of [...messages, ...run.messages]) {
      if (!(graph === undefined && message.startsWith('docs/stale-command skipped') && messages.length)) console.error(message);
    }
    return run.exitCode;
  },
};
