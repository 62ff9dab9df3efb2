import { posix } from 'node:path';
import type { MarkdownLink } from './markdown';
import { folderPage, isMarkdown, relativeLink } from './paths';
import { closest } from './suggest';
import type { DocsContext, DocsFinding } from './types';

export interface LocalLink {
  from: string;
  link: MarkdownLink;
  /** Workspace-relative target path ('' is the root). */
  path: string;
  hash?: string;
}

/** Every link of `file` that stays in the repository, resolved. */
export function localLinks(ctx: DocsContext, file: string): LocalLink[] {
  const parsed = ctx.parse(file);
  if (!parsed) return [];
  const out: LocalLink[] = [];
  for (const link of parsed.links) {
    const resolved = ctx.resolve(file, link.target, link.kind === 'image');
    if (resolved.kind === 'local') out.push({ from: file, link, path: resolved.path, hash: resolved.hash });
  }
  return out;
}

export const pageOf = (ctx: DocsContext, path: string) =>
  ctx.input.files.has(path) ? path : ctx.dirs.has(path) ? folderPage(path, ctx.input.files) : undefined;

interface FileIndex {
  byDir: Map<string, string[]>;
  byName: Map<string, string[]>;
  sameName: Map<string, { first: string | undefined; count: number }>;
  suggestions: Map<string, Suggestion | undefined>;
}
const fileIndexes = new WeakMap<DocsContext, FileIndex>();
/** Above this many files in a folder, typo suggestions would cost more than the check itself. */
const MAX_FUZZY_FOLDER = 200;

function fileIndex(ctx: DocsContext): FileIndex {
  let index = fileIndexes.get(ctx);
  if (!index) {
    index = { byDir: new Map(), byName: new Map(), sameName: new Map(), suggestions: new Map() };
    for (const file of ctx.input.files) {
      const slash = file.lastIndexOf('/');
      for (const [map, key] of [
        [index.byDir, slash === -1 ? '' : file.slice(0, slash)],
        [index.byName, file.slice(slash + 1).toLowerCase()],
      ] as const) {
        const list = map.get(key);
        if (list) list.push(file);
        else map.set(key, [file]);
      }
    }
    fileIndexes.set(ctx, index);
  }
  return index;
}

interface Suggestion {
  path: string;
  /** The only file of that name under the same top folder: the page moved there, so --fix may follow it. */
  moved: boolean;
}

/** A file with the same name elsewhere (the page moved), else a similarly named one in the same folder (a typo). */
function suggestFile(ctx: DocsContext, path: string): Suggestion | undefined {
  const index = fileIndex(ctx);
  if (index.suggestions.has(path)) return index.suggestions.get(path);
  const slash = path.lastIndexOf('/');
  const name = path.slice(slash + 1);
  const top = path.slice(0, path.indexOf('/') + 1);
  let suggestion: Suggestion | undefined;
  if (top) {
    // Per name and top folder, not per missing path: 100,000 broken links to one name look once.
    const key = `${top}\0${name.toLowerCase()}`;
    let same = index.sameName.get(key);
    if (!same) {
      const matches = (index.byName.get(name.toLowerCase()) ?? []).filter((c) => c.startsWith(top));
      index.sameName.set(key, (same = { first: matches[0], count: matches.length }));
    }
    if (same.first !== undefined) suggestion = { path: same.first, moved: same.count === 1 };
  }
  const siblings = index.byDir.get(slash === -1 ? '' : path.slice(0, slash)) ?? [];
  if (!suggestion && siblings.length <= MAX_FUZZY_FOLDER) {
    const byName = new Map(siblings.map((c) => [posix.basename(c), c]));
    const best = closest(name, byName.keys(), 0.7, ctx.suggestions);
    if (best !== undefined) suggestion = { path: byName.get(best)!, moved: false };
  }
  index.suggestions.set(path, suggestion);
  return suggestion;
}

function rewrite(from: string, link: MarkdownLink, newPath: string, hash: string | undefined) {
  return link.raw ? { file: from, line: link.line, from: link.raw, to: relativeLink(from, newPath) + (hash ? `#${hash}` : '') } : undefined;
}

const anchorSuggestions = new WeakMap<DocsContext, Map<string, string | undefined>>();
/** The nearest anchor of a page, once per page and missing anchor. */
function anchorSuggestion(ctx: DocsContext, page: string, anchor: string, anchors: ReadonlySet<string>): string | undefined {
  let known = anchorSuggestions.get(ctx);
  if (!known) anchorSuggestions.set(ctx, (known = new Map<string, string | undefined>()));
  const key = `${page}\0${anchor}`;
  if (!known.has(key)) known.set(key, closest(anchor, anchors, 0.6, ctx.suggestions));
  return known.get(key);
}

/** The first eight anchors, without copying a set of thousands. */
function firstAnchors(anchors: ReadonlySet<string>): string {
  const first: string[] = [];
  for (const anchor of anchors) {
    if (first.length === 8) break;
    first.push(`#${anchor}`);
  }
  return first.join(', ') || 'none';
}

const at = (file: string, link: MarkdownLink) => ({ file, line: link.line, ...(link.column ? { column: link.column } : {}), subject: link.target });

/** docs/missing-file, docs/missing-anchor, docs/escapes-repo and docs/moved-page for one file. */
export function checkLinks(ctx: DocsContext, file: string): DocsFinding[] {
  const parsed = ctx.parse(file);
  if (!parsed) return [];
  const findings: DocsFinding[] = [];
  const { files, moved = {} } = ctx.input;
  for (const link of parsed.links) {
    const resolved = ctx.resolve(file, link.target, link.kind === 'image');
    if (resolved.kind === 'external') continue;
    const what = link.kind === 'image' ? 'Image' : 'Link';
    if (resolved.kind === 'escapes') {
      findings.push({
        ...at(file, link),
        rule: 'docs/escapes-repo',
        severity: 'error',
        message: `${what} "${link.target}" leaves the repository (resolves to ${resolved.path}).`,
        fix: 'Link to a file inside the repository, or use an absolute https:// URL.',
      });
      continue;
    }
    const { path, hash } = resolved;
    const movedTo = moved[path];
    if (movedTo !== undefined) {
      const edit = rewrite(file, link, movedTo, hash);
      findings.push({
        ...at(file, link),
        rule: 'docs/moved-page',
        severity: 'error',
        message: `${what} "${link.target}" points to ${path}, which moved to ${movedTo}.`,
        fix: `Link to ${relativeLink(file, movedTo)}${hash ? `#${hash}` : ''} (--fix does this).`,
        ...(edit ? { edit } : {}),
      });
      continue;
    }
    const exists = files.has(path) || ctx.dirs.has(path);
    if (!exists) {
      const suggestion = suggestFile(ctx, path);
      const edit = suggestion?.moved ? rewrite(file, link, suggestion.path, hash) : undefined;
      findings.push({
        ...at(file, link),
        rule: 'docs/missing-file',
        severity: 'error',
        message: `${what} "${link.target}" points to ${path}, which does not exist.`,
        fix: !suggestion
          ? 'Fix the path or remove the link.'
          : edit
            ? `It moved: link to ${edit.to} (--fix does this).`
            : `Did you mean ${relativeLink(file, suggestion.path)}?`,
        ...(edit ? { edit } : {}),
      });
      continue;
    }
    if (hash === undefined || hash === '') continue;
    const page = pageOf(ctx, path);
    if (!page || !isMarkdown(page)) continue;
    const target = ctx.parse(page);
    if (!target) continue;
    const anchor = hash.toLowerCase();
    if (target.anchors.has(anchor)) continue;
    const suggestion = anchorSuggestion(ctx, page, anchor, target.anchors);
    findings.push({
      ...at(file, link),
      rule: 'docs/missing-anchor',
      severity: 'error',
      message: `${what} "${link.target}": ${page === file ? 'this page' : page} has no heading or anchor "#${hash}".`,
      fix: suggestion ? `Did you mean #${suggestion}?` : `Headings of ${page === file ? 'this page' : page}: ${firstAnchors(target.anchors)}.`,
    });
  }
  return findings;
}
