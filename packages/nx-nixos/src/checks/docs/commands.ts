import type { MarkdownCode } from './markdown';
import { closest, type SuggestionBudget } from './suggest';
import { matchRetired } from './retired';
import type { DocsContext, DocsFinding, ProjectTargets } from './types';

export const SHELL_LANGS = new Set(['', 'sh', 'bash', 'shell', 'console', 'zsh', 'shell-session', 'shellsession', 'terminal', 'fish']);

/** Nx's own commands: `nx <word>` with any other word is `nx <target> [project]`. */
const NX_BUILTINS = new Set([
  'add', 'affected', 'connect', 'connect-to-nx-cloud', 'configure-ai-agents', 'daemon', 'exec', 'format', 'format:check',
  'format:write', 'g', 'generate', 'graph', 'dep-graph', 'import', 'init', 'list', 'login', 'logout', 'mcp', 'migrate',
  'new', 'release', 'repair', 'report', 'reset', 'clear-cache', 'run', 'run-many', 'show', 'sync', 'sync:check',
  'view-logs', 'watch', 'help', 'version', 'completion', 'register', 'start-ci-run', 'record', 'fix-ci', 'apply-locally',
  'print-affected', 'affected:graph', 'workspace-lint',
]);
const NX_PREFIXES = new Set(['npx', 'pnpx', 'bunx', 'exec', 'pnpm', 'yarn', 'bun', 'time', 'sudo', 'env', 'command']);
const SEPARATORS = /^(&&|\|\||;|\||>|>>|<|2>&1|&)$/;

const isPlaceholder = (value: string) => /[<>${}[\]*()]|\.\.\./.test(value) || /^[A-Z][A-Z0-9_]*$/.test(value);
const unquote = (value: string) => value.replace(/^["']|["']$/g, '');

/** One `nx` invocation found in a code line, with what it names. */
export interface NxCommand {
  text: string;
  /** [project, target] pairs; project undefined when the command targets many/any project. */
  refs: Array<{ project?: string; target?: string }>;
}

function splitList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map(unquote).filter(Boolean);
}

/** Values of an option given as `-t a b`, `-t=a,b`, `--targets a,b` or `--target=a`. */
function optionValues(args: string[], names: string[]): string[] | undefined {
  const values: string[] = [];
  let found = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!names.includes(name)) continue;
    found = true;
    if (eq !== -1) values.push(arg.slice(eq + 1));
    else for (let j = i + 1; j < args.length && !args[j].startsWith('-'); j++) values.push(args[j]);
  }
  return found ? splitList(values) : undefined;
}

/** run-many pairs every target with every project up to this many pairs; beyond, each is checked alone. */
const MAX_PAIRS = 1000;

/** Finds every nx invocation in one line of shell. */
export function parseNxCommands(line: string): NxCommand[] {
  const tokens = line.replace(/^\s*[$>]\s+/, '').trim().split(/\s+/).filter(Boolean);
  const commands: NxCommand[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token !== 'nx' && !token.endsWith('/nx') && !/^nx@/.test(token)) continue;
    const prev = tokens[i - 1];
    if (i > 0 && !NX_PREFIXES.has(prev) && !SEPARATORS.test(prev) && !/^[A-Z_][A-Z0-9_]*=/.test(prev) && prev !== 'run' && prev !== '--') continue;
    let end = i + 1;
    while (end < tokens.length && !SEPARATORS.test(tokens[end])) end++;
    const args = tokens.slice(i + 1, end).map(unquote);
    const text = tokens.slice(i, end).join(' ');
    const [command, ...rest] = args;
    const refs: NxCommand['refs'] = [];
    if (!command || command.startsWith('-')) {
      i = end;
      continue;
    }
    if (command === 'run') {
      const spec = rest.find((a) => !a.startsWith('-'));
      if (spec && spec.includes(':')) {
        const [project, target] = spec.split(':');
        refs.push({ project, target });
      }
    } else if (command === 'affected' || command === 'run-many') {
      const targets = optionValues(rest, ['-t', '--target', '--targets']) ?? [];
      const projects = command === 'run-many' ? optionValues(rest, ['-p', '--projects']) ?? [] : [];
      const uniqueTargets = [...new Set(targets)];
      const named = [...new Set(projects.filter((p) => !/[*!]|^tag:/.test(p)))];
      if (named.length && uniqueTargets.length * named.length <= MAX_PAIRS) {
        for (const target of uniqueTargets) for (const project of named) refs.push({ project, target });
      } else for (const target of uniqueTargets) refs.push({ target });
      if (!uniqueTargets.length || uniqueTargets.length * named.length > MAX_PAIRS) for (const project of named) refs.push({ project });
    } else if (command === 'show') {
      if (rest[0] === 'project' && rest[1] && !rest[1].startsWith('-')) refs.push({ project: rest[1] });
    } else if (!NX_BUILTINS.has(command)) {
      if (command.includes(':')) {
        const [project, target] = command.split(':');
        refs.push({ project, target });
      } else {
        const project = rest.find((a) => !a.startsWith('-'));
        refs.push({ project, target: command });
      }
    }
    if (refs.length) commands.push({ text, refs });
    i = end;
  }
  return commands;
}

const MAX_FINDINGS_PER_COMMAND = 10;
/** A command or name as messages quote it: a long one shortened, so a finding never repeats a whole 1 MB line. */
const quote = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

interface GraphIndex {
  projects: string[];
  /** Every target name of the workspace, sorted. */
  targets: string[];
  hasTarget: Set<string>;
}
const graphIndexes = new WeakMap<ProjectTargets, GraphIndex>();
function graphIndex(graph: ProjectTargets): GraphIndex {
  let index = graphIndexes.get(graph);
  if (!index) {
    const projects = Object.keys(graph).sort();
    const hasTarget = new Set(projects.flatMap((p) => graph[p]));
    index = { projects, targets: [...hasTarget].sort(), hasTarget };
    graphIndexes.set(graph, index);
  }
  return index;
}

/** Why a reference does not resolve in the graph, or undefined when it does. */
export function checkRef(ref: { project?: string; target?: string }, graph: ProjectTargets, budget?: SuggestionBudget): { message: string; fix: string } | undefined {
  const { projects, targets: all, hasTarget } = graphIndex(graph);
  const project = ref.project !== undefined && !isPlaceholder(ref.project) ? ref.project : undefined;
  const target = ref.target !== undefined && !isPlaceholder(ref.target) ? ref.target : undefined;
  if (project !== undefined && !Object.hasOwn(graph, project)) {
    const suggestion = closest(project, projects, 0.5, budget);
    return {
      message: `project "${quote(project)}" does not exist in the project graph`,
      fix: suggestion ? `Did you mean "${suggestion}"? Projects: ${projects.join(', ')}.` : `Projects: ${projects.join(', ') || 'none'} (npx nx show projects).`,
    };
  }
  if (target === undefined) return undefined;
  if (project !== undefined) {
    const targets = [...graph[project]].sort();
    if (targets.includes(target)) return undefined;
    const suggestion = closest(target, targets, 0.5, budget);
    return {
      message: `project "${project}" has no target "${quote(target)}"`,
      fix: `${suggestion ? `Did you mean "${suggestion}"? ` : ''}Targets of ${project}: ${targets.join(', ') || 'none'} (npx nx show project ${project}).`,
    };
  }
  if (hasTarget.has(target)) return undefined;
  const suggestion = closest(target, all, 0.5, budget);
  return {
    message: `no project has a target "${quote(target)}"`,
    fix: `${suggestion ? `Did you mean "${suggestion}"? ` : ''}Targets in the workspace: ${all.join(', ') || 'none'}.`,
  };
}

/** A shell line up to its comment (whitespace, then `#`), found in one pass. */
function withoutComment(text: string): string {
  for (let i = 0; i + 1 < text.length; i++) {
    if (text[i + 1] === '#' && /\s/.test(text[i])) return text.slice(0, i);
  }
  return text;
}

/** Lines of code that hold commands: shell fences line by line (continuations joined), inline code whole. */
export function commandLines(code: readonly MarkdownCode[]): Array<{ text: string; line: number; inline: boolean; context?: string }> {
  const out: Array<{ text: string; line: number; inline: boolean; context?: string }> = [];
  for (const block of code) {
    if (block.kind === 'inline') {
      out.push({ text: block.content, line: block.line, inline: true, context: block.context });
      continue;
    }
    if (!SHELL_LANGS.has(block.lang.toLowerCase())) continue;
    const lines = block.content.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const start = i;
      const parts = [lines[i]];
      // Parts joined once: appending line by line would copy the growing text for every continuation.
      while (parts[parts.length - 1].endsWith('\\') && i + 1 < lines.length) {
        parts[parts.length - 1] = parts[parts.length - 1].slice(0, -1);
        parts.push(lines[++i]);
      }
      const text = parts.join(' ');
      if (/^\s*(#|$)/.test(text)) continue;
      out.push({ text: withoutComment(text), line: block.line + start, inline: false });
    }
  }
  return out;
}

/** docs/stale-command and docs/retired-command for one file. */
export function checkCommands(ctx: DocsContext, file: string): DocsFinding[] {
  const parsed = ctx.parse(file);
  if (!parsed) return [];
  const { graph, retired = [] } = ctx.input;
  const findings: DocsFinding[] = [];
  // Whether a line is a migration table row, once per line (a line may hold thousands of code spans).
  let mappingLine = -1;
  let mappingContext = false;
  for (const { text, line, inline, context } of commandLines(parsed.code)) {
    // A line that quotes a retired command next to an nx command maps old to new (a migration table).
    if (inline && context !== undefined && line !== mappingLine) {
      mappingLine = line;
      mappingContext = /`(?:npx\s+)?nx\s/.test(context);
    }
    const mapping = inline && context !== undefined && mappingContext;
    for (const entry of mapping ? [] : retired) {
      const found = matchRetired(entry, text);
      if (!found) continue;
      const { match, replacement } = found;
      const { autofix } = entry;
      findings.push({
        rule: 'docs/retired-command',
        severity: 'error',
        file,
        line,
        subject: match,
        message: `\`${quote(match)}\` no longer exists.`,
        fix: `Use \`${replacement}\`${autofix ? ' (--fix does this).' : '.'}`,
        ...(autofix ? { edit: { file, line, from: match, to: replacement } } : {}),
      });
    }
    if (!graph) continue;
    for (const command of parseNxCommands(text)) {
      const problems = new Map<string, { message: string; fix: string }>();
      const others = new Set<string>();
      for (const ref of command.refs) {
        const problem = checkRef(ref, graph, ctx.suggestions);
        if (!problem || problems.has(problem.message)) continue;
        if (problems.size < MAX_FINDINGS_PER_COMMAND) problems.set(problem.message, problem);
        else others.add(problem.message);
      }
      const more = others.size;
      const stale = (message: string, fix: string) =>
        findings.push({ rule: 'docs/stale-command', severity: 'error', file, line, subject: command.text, message: `\`${quote(command.text)}\`: ${message}`, fix });
      for (const problem of problems.values()) stale(`${problem.message}.`, problem.fix);
      if (more) {
        stale(`${more} more project or target names that are not in the project graph.`, 'Check the command against npx nx show projects.');
      }
    }
  }
  return findings;
}
