import type { MarkdownCode } from './markdown';
import { closest } from './suggest';
import type { DocsContext, DocsFinding, ProjectTargets, RetiredCommand } from './types';

export const SHELL_LANGS = new Set(['', 'sh', 'bash', 'shell', 'console', 'zsh', 'shell-session', 'shellsession', 'terminal', 'fish']);

const PROFILE = '<profile>';
const nxRun = (project: string, target: string, rest = '') => `npx nx run ${project}:${target}${rest}`;

/** Commands of the former Python CLI and scripts, and what replaces them. */
export const RETIRED_COMMANDS: readonly RetiredCommand[] = [
  { pattern: /(?:\.\/)?run\.sh\s+start\b/, replacement: () => nxRun(PROFILE, 'launch') },
  {
    pattern: /\brave\s+vm\s+build-image\b(?:\s+--profile(?:=|\s+)([\w.-]+))?/,
    replacement: (m) => nxRun(m[1] ?? PROFILE, 'build-image'),
  },
  {
    pattern: /\brave\s+vm\s+launch-local\b(?:\s+--profile(?:=|\s+)([\w.-]+))?/,
    replacement: (m) => nxRun(m[1] ?? PROFILE, 'launch'),
  },
  { pattern: /\brave\s+vm\s+list-profiles\b/, replacement: () => 'npx nx show projects' },
  { pattern: /\brave\s+secrets\s+install\b/, replacement: () => nxRun(PROFILE, 'launch', ' --secret ...'), autofix: false },
  { pattern: /(?:\.\/)?scripts\/repo\/hygiene-check\.sh\b/, replacement: () => nxRun('repo', 'hygiene') },
];

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
    if (!command || command.startsWith('-')) continue;
    if (command === 'run') {
      const spec = rest.find((a) => !a.startsWith('-'));
      if (spec && spec.includes(':')) {
        const [project, target] = spec.split(':');
        refs.push({ project, target });
      }
    } else if (command === 'affected' || command === 'run-many') {
      const targets = optionValues(rest, ['-t', '--target', '--targets']) ?? [];
      const projects = command === 'run-many' ? optionValues(rest, ['-p', '--projects']) ?? [] : [];
      const named = projects.filter((p) => !/[*!]|^tag:/.test(p));
      for (const target of targets) {
        if (named.length) for (const project of named) refs.push({ project, target });
        else refs.push({ target });
      }
      if (!targets.length) for (const project of named) refs.push({ project });
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

/** Why a reference does not resolve in the graph, or undefined when it does. */
export function checkRef(ref: { project?: string; target?: string }, graph: ProjectTargets): { message: string; fix: string } | undefined {
  const projects = Object.keys(graph).sort();
  const project = ref.project !== undefined && !isPlaceholder(ref.project) ? ref.project : undefined;
  const target = ref.target !== undefined && !isPlaceholder(ref.target) ? ref.target : undefined;
  if (project !== undefined && !(project in graph)) {
    const suggestion = closest(project, projects, 0.5);
    return {
      message: `project "${project}" does not exist in the project graph`,
      fix: suggestion ? `Did you mean "${suggestion}"? Projects: ${projects.join(', ')}.` : `Projects: ${projects.join(', ') || 'none'} (npx nx show projects).`,
    };
  }
  if (target === undefined) return undefined;
  if (project !== undefined) {
    const targets = [...graph[project]].sort();
    if (targets.includes(target)) return undefined;
    const suggestion = closest(target, targets, 0.5);
    return {
      message: `project "${project}" has no target "${target}"`,
      fix: `${suggestion ? `Did you mean "${suggestion}"? ` : ''}Targets of ${project}: ${targets.join(', ') || 'none'} (npx nx show project ${project}).`,
    };
  }
  if (projects.some((p) => graph[p].includes(target))) return undefined;
  const all = [...new Set(projects.flatMap((p) => graph[p]))].sort();
  const suggestion = closest(target, all, 0.5);
  return {
    message: `no project has a target "${target}"`,
    fix: `${suggestion ? `Did you mean "${suggestion}"? ` : ''}Targets in the workspace: ${all.join(', ') || 'none'}.`,
  };
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
      let text = lines[i];
      const start = i;
      while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + ' ' + lines[++i];
      if (/^\s*(#|$)/.test(text)) continue;
      out.push({ text: text.replace(/\s#.*$/, ''), line: block.line + start, inline: false });
    }
  }
  return out;
}

/** docs/stale-command and docs/retired-command for one file. */
export function checkCommands(ctx: DocsContext, file: string): DocsFinding[] {
  const parsed = ctx.parse(file);
  if (!parsed) return [];
  const { graph, retired = [] } = ctx.input;
  const table = [...RETIRED_COMMANDS, ...retired];
  const findings: DocsFinding[] = [];
  for (const { text, line, inline, context } of commandLines(parsed.code)) {
    // A line that quotes a retired command next to an nx command maps old to new (a migration table).
    const mapping = inline && context !== undefined && /`(?:npx\s+)?nx\s/.test(context);
    for (const entry of mapping ? [] : table) {
      const match = text.match(entry.pattern);
      if (!match) continue;
      const replacement = entry.replacement(match);
      const autofix = entry.autofix !== false;
      findings.push({
        rule: 'docs/retired-command',
        severity: 'error',
        file,
        line,
        subject: match[0],
        message: `\`${match[0]}\` no longer exists.`,
        fix: `Use \`${replacement}\`${autofix ? ' (--fix does this).' : '.'}`,
        ...(autofix ? { edit: { file, line, from: match[0], to: replacement } } : {}),
      });
    }
    if (!graph) continue;
    for (const command of parseNxCommands(text)) {
      for (const ref of command.refs) {
        const problem = checkRef(ref, graph);
        if (!problem) continue;
        findings.push({
          rule: 'docs/stale-command',
          severity: 'error',
          file,
          line,
          subject: command.text,
          message: `\`${command.text}\`: ${problem.message}.`,
          fix: problem.fix,
        });
      }
    }
  }
  return findings;
}
