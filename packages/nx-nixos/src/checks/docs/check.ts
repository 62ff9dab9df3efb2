import { checkCommands } from './commands';
import { checkLinks } from './links';
import { parseMarkdown, type ParsedMarkdown } from './markdown';
import { foldersOf, resolveLink, type Resolved } from './paths';
import { checkStructure } from './structure';
import { checkStubs } from './stubs';
import type { DocsCheckInput, DocsCheckResult, DocsContext, DocsFinding } from './types';

export function createContext(input: DocsCheckInput, preParsed?: ReadonlyMap<string, ParsedMarkdown>): DocsContext {
  const parsed = new Map<string, ParsedMarkdown | undefined>(preParsed ?? []);
  const resolved = new Map<string, Resolved>();
  return {
    input,
    dirs: foldersOf(input.files),
    resolve(from, target, image) {
      // Same-page anchors depend on the page; anything else only on its folder.
      if (target === '' || target.startsWith('#') || target.startsWith('?')) return resolveLink(from, target, image);
      const key = `${from.slice(0, from.lastIndexOf('/') + 1)}\0${target}\0${image ? 1 : 0}`;
      let hit = resolved.get(key);
      if (!hit) {
        hit = resolveLink(from, target, image);
        resolved.set(key, hit);
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

/**
 * Runs every docs rule over the given tree. Pure: the caller reads files and the project graph
 * (and may pass pages it already parsed, e.g. on several cores).
 */
export function checkDocs(input: DocsCheckInput, preParsed?: ReadonlyMap<string, ParsedMarkdown>): DocsCheckResult {
  const ctx = createContext(input, preParsed);
  const disabled = new Set(input.disabledRules ?? []);
  const notes: string[] = [];
  let findings: DocsFinding[] = [];
  for (const file of input.checked) findings.push(...checkLinks(ctx, file), ...checkCommands(ctx, file));
  findings.push(...checkStructure(ctx), ...checkStubs(ctx));
  if (!input.graph && !disabled.has('docs/stale-command'))
    notes.push('docs/stale-command skipped: no project graph (run inside an Nx workspace, or through nx run docs:docs-check).');
  findings = findings.filter((f) => !disabled.has(f.rule));
  return { findings, notes };
}
