import type { MarkdownLink } from './markdown';
import { posix } from 'node:path';
import { folderPage, isMarkdown, relativeLink, resolveLink } from './paths';
import type { DocsContext, DocsFinding } from './types';
import { closest } from './suggest';

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
    const resolved = resolveLink(file, link.target, link.kind === 'image');
    if (resolved.kind === 'local') out.push({ from: file, link, path: resolved.path, hash: resolved.hash });
  }
  return out;
}

export const pageOf = (ctx: DocsContext, path: string) =>
  ctx.input.files.has(path) ? path : ctx.dirs.has(path) ? folderPage(path, ctx.input.files) : undefined;

const nearbyIndex = new WeakMap<DocsContext, Map<string, string[]>>();

/** Files a mistyped path most likely meant: those in the same folder and those with the same name. */
function nearby(ctx: DocsContext, path: string): string[] {
  let index = nearbyIndex.get(ctx);
  if (!index) {
    index = new Map();
    for (const file of ctx.input.files) {
      for (const key of [`d:${posix.dirname(file)}`, `b:${posix.basename(file).toLowerCase()}`]) {
        const list = index.get(key);
        if (list) list.push(file);
        else index.set(key, [file]);
      }
    }
    nearbyIndex.set(ctx, index);
  }
  return [...(index.get(`d:${posix.dirname(path)}`) ?? []), ...(index.get(`b:${posix.basename(path).toLowerCase()}`) ?? [])];
}

/** A file with the same name elsewhere (the page moved), else a similarly named one in the same folder (a typo). */
function suggestFile(ctx: DocsContext, path: string): string | undefined {
  const candidates = nearby(ctx, path);
  const name = posix.basename(path).toLowerCase();
  const moved = candidates.find((c) => posix.basename(c).toLowerCase() === name);
  if (moved) return moved;
  const byName = new Map(candidates.map((c) => [posix.basename(c), c]));
  const best = closest(posix.basename(path), byName.keys(), 0.7);
  return best === undefined ? undefined : byName.get(best);
}

function rewrite(from: string, link: MarkdownLink, newPath: string, hash: string | undefined) {
  return link.raw ? { file: from, line: link.line, from: link.raw, to: relativeLink(from, newPath) + (hash ? `#${hash}` : '') } : undefined;
}

/** docs/missing-file, docs/missing-anchor, docs/escapes-repo and docs/moved-page for one file. */
export function checkLinks(ctx: DocsContext, file: string): DocsFinding[] {
  const parsed = ctx.parse(file);
  if (!parsed) return [];
  const findings: DocsFinding[] = [];
  const { files, moved = {} } = ctx.input;
  for (const link of parsed.links) {
    const where = { file, line: link.line, ...(link.column ? { column: link.column } : {}), subject: link.target };
    const what = link.kind === 'image' ? 'Image' : 'Link';
    const resolved = resolveLink(file, link.target, link.kind === 'image');
    if (resolved.kind === 'external') continue;
    if (resolved.kind === 'escapes') {
      findings.push({
        ...where,
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
        ...where,
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
      findings.push({
        ...where,
        rule: 'docs/missing-file',
        severity: 'error',
        message: `${what} "${link.target}" points to ${path}, which does not exist.`,
        fix: suggestion ? `Did you mean ${relativeLink(file, suggestion)}?` : 'Fix the path or remove the link.',
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
    const suggestion = closest(anchor, [...target.anchors], 0.6);
    findings.push({
      ...where,
      rule: 'docs/missing-anchor',
      severity: 'error',
      message: `${what} "${link.target}": ${page === file ? 'this page' : page} has no heading or anchor "#${hash}".`,
      fix: suggestion ? `Did you mean #${suggestion}?` : `Headings of ${page === file ? 'this page' : page}: ${[...target.anchors].slice(0, 8).map((a) => `#${a}`).join(', ') || 'none'}.`,
    });
  }
  return findings;
}
