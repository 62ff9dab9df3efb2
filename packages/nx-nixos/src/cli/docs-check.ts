import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { git } from '../git/git';
import { SEVERITY_RANK, type Severity } from '../report/finding';
import { REPORT_FORMATS, type ReportFormat } from '../report/format';
import type { DocsCheckOptions } from '../executors/docs-check/executor';
import type { CliCommand } from './main';
import { pluginOptions } from './plugin-options';
import { schemaProblem, type SchemaNode } from './schema-validate';
import { readExecutors } from '../reference/schemas';

const HELP = `Usage: nx-nixos docs-check [DIR] [options]

Checks the docs folder DIR (default: the docsDir of nx.json, else docs) and every README.md of the repository: links and
anchors as GitHub resolves them, the Divio structure, orphan and stub pages, retired commands,
and nx commands quoted in code against the Nx project graph.
Options of the @rave/nx-nixos plugin in the root's nx.json ("docsCheck": {...}) apply; flags override them.

Options:
  --root DIR           repository root (default: nearest folder above DIR with nx.json, else the Git top level);
                       DIR must be inside it, and only regular files inside it are read
  --format FORMAT      text | json | sarif | github (default: text)
  --fix                rewrite retired commands and links to moved or stub pages, then report the rest
  --allowlist FILE     JSON allowlist of accepted findings, a file inside the root, relative to it
  --fail-level LEVEL   error | warning | note: lowest severity that fails (default: error)
  --moved OLD=NEW      a page that moved (workspace-relative paths); repeatable
  --disable RULE       leave out a rule, e.g. docs/stub; repeatable
  --no-readmes         check only DIR, not the README.md files elsewhere
  --no-graph           do not load the Nx project graph; docs/stale-command is skipped

Exit codes: 0 no findings, 1 findings, 2 the check could not run.`;

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

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${option} ${value}: expected one of ${allowed.join(', ')}.`);
  return value as T;
}

export const command: CliCommand = {
  summary: 'Check the docs: links, anchors, Divio structure, stubs, and nx commands against the project graph.',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        root: { type: 'string' },
        format: { type: 'string' },
        fix: { type: 'boolean' },
        allowlist: { type: 'string' },
        'fail-level': { type: 'string' },
        moved: { type: 'string', multiple: true },
        disable: { type: 'string', multiple: true },
        'no-readmes': { type: 'boolean' },
        'no-graph': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new Error(`expected one docs folder, got ${positionals.join(' ')}.`);
    // Symlinks resolved: DIR must really be inside the root, not only by name.
    const givenRoot = values.root ? realFolder(values.root, 'is not a folder; pass the repository root as --root') : undefined;
    // Without DIR: the docs folder nx.json names (docsCheck.docsDir, else docsDir), else docs, in the root.
    const nxRoot = givenRoot ?? (positionals[0] === undefined ? findRoot(process.cwd()) : undefined);
    const plugin = nxRoot === undefined ? undefined : pluginOptions(nxRoot, 'docsCheck');
    const configuredDir = (plugin?.docsCheck as DocsCheckOptions | undefined)?.docsDir ?? plugin?.docsDir;
    const dir = realFolder(positionals[0] ?? (nxRoot && typeof configuredDir === 'string' ? join(nxRoot, configuredDir) : 'docs'), 'is not a folder; pass the docs folder to check');
    const root = givenRoot ?? findRoot(dir);
    const rel = relative(root, dir);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new Error(`${dir} is outside the root ${root}; pass --root to the repository that contains it.`);
    const docsDir = rel.split(sep).join('/');
    const format = oneOf<ReportFormat>(values.format, REPORT_FORMATS, 'format');
    const failLevel = oneOf<Severity>(values['fail-level'], Object.keys(SEVERITY_RANK) as Severity[], 'fail-level');
    const fromNx = (root === nxRoot ? plugin : pluginOptions(root, 'docsCheck'))?.docsCheck ?? {};
    const problem = schemaProblem(readExecutors().find((e) => e.name === 'docs-check')!.schema as SchemaNode, fromNx, 'docsCheck');
    if (problem)
      throw new Error(`${join(root, 'nx.json')}: option "${problem.path}" of plugin @rave/nx-nixos is invalid: ${problem.reason}. Set it as npx nx-nixos help docs-check describes, or remove it.`);
    const { docsDir: _docsDir, ...configured } = fromNx as DocsCheckOptions;
    const moved: Record<string, string> = { ...configured.moved };
    for (const pair of values.moved ?? []) {
      const [from, to, extra] = pair.split('=');
      if (!from || !to || extra !== undefined) throw new Error(`--moved ${pair}: expected OLD=NEW (workspace-relative paths).`);
      moved[from] = to;
    }

    let graph;
    const messages: string[] = [];
    if (!values['no-graph'] && configured.graph !== false) {
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
      format: format ?? configured.format,
      failLevel: failLevel ?? configured.failLevel,
      fix: values.fix ?? configured.fix,
      allowlist: values.allowlist ?? configured.allowlist,
      readmes: values['no-readmes'] ? false : configured.readmes,
      moved,
      disabledRules: values.disable ?? configured.disabledRules,
      graph,
    });
    process.stdout.write(run.report);
    for (const message of [...messages, ...run.messages]) {
      if (!(graph === undefined && message.startsWith('docs/stale-command skipped') && messages.length)) console.error(message);
    }
    return run.exitCode;
  },
};
