import { checkCommands } from './commands';
import { checkLinks } from './links';
import { parseMarkdown, type ParsedMarkdown } from './markdown';
import { foldersOf, resolveLink, type Resolved } from './paths';
import { checkStructure } from './structure';
import { checkStubs } from './stubs';
import { suggestionBudget } from './suggest';
import type { DocsCheckInput, DocsCheckResult, DocsContext, DocsFinding } from './types';

export function createContext(input: DocsCheckInput): DocsContext {
  const parsed = new Map<string, ParsedMarkdown | undefined>();
  // Resolution depends only on the page's folder (or the page, for same-page anchors).
  const byFolder = new Map<string, Map<string, Resolved>>();
  let lastFrom = '';
  let lastFolder: Map<string, Resolved> | undefined;
  return {
    input,
    suggestions: suggestionBudget(),
    dirs: foldersOf(input.files),
    resolve(from, target, image) {
      if (target === '' || target.startsWith('#') || target.startsWith('?')) return resolveLink(from, target, image);
      if (from !== lastFrom || !lastFolder) {
        const folder = from.slice(0, from.lastIndexOf('/') + 1);
        lastFolder = byFolder.get(folder);
        if (!lastFolder) byFolder.set(folder, (lastFolder = new Map<string, Resolved>()));
        lastFrom = from;
      }
      const key = image ? `\0${target}` : target;
      let hit = lastFolder.get(key);
      if (!hit) {
        hit = resolveLink(from, target, image);
        lastFolder.set(key, hit);
      }
      return hit;
    },
    parse(path) {
      if (!parsed.has(path)) {
        const text = input.markdown.get(path);
        parsed.set(path, text === undefined ? undefined : parseMarkdown(text));
      }
      return parsed.get(path);
    },
  };
}

/** Runs every docs rule over the given tree. Pure: the caller reads files and the project graph. */
export function checkDocs(input: DocsCheckInput): DocsCheckResult {
  const ctx = createContext(input);
  const disabled = new Set(input.disabledRules ?? []);
  const notes: string[] = [];
  let findings: DocsFinding[] = [];
  // One by one: spreading a file's findings into push() would overflow the stack on a page with 200,000 links.
  const add = (more: readonly DocsFinding[]) => {
    for (const finding of more) findings.push(finding);
  };
  for (const [file, problem] of input.unreadable ?? []) {
    findings.push({
      rule: 'docs/unreadable',
      severity: 'error',
      file,
      subject: file,
      message: `${file} was not read: it ${problem}.`,
      fix: 'Make it a regular file inside the repository (or a symlink to one), or remove it.',
    });
  }
  for (const file of input.checked) {
    add(checkLinks(ctx, file));
    add(checkCommands(ctx, file));
  }
  add(checkStructure(ctx));
  add(checkStubs(ctx));
  if (!input.graph && !disabled.has('docs/stale-command'))
    notes.push('docs/stale-command skipped: no project graph (run inside an Nx workspace, or through the docs-check target of the documentation project).');
  findings = findings.filter((f) => !disabled.has(f.rule));
  return { findings, notes };
}
