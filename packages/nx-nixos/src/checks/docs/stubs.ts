import { localLinks, pageOf } from './links';
import { isIndexPage, isMarkdown, relativeLink } from './paths';
import { countWords } from './markdown';
import { docsPages } from './structure';
import type { DocsContext, DocsFinding } from './types';

export interface Stub {
  page: string;
  /** Where the stub sends readers: a page in the repo (workspace-relative) or an external URL. */
  targets: string[];
}

/** Words that say "the content is elsewhere". */
const POINTER = /\b(moved|see|now\s+(?:lives|at|in|on)|superseded|replaced|relocated|redirect(?:s|ed)?|go\s+to|refer\s+to|has\s+been\s+merged|merged\s+into|deprecated)\b/i;

/**
 * Pages of the docs folder that only point elsewhere: no code or tables, at most three links, and
 * either no prose but the links or a few words saying the content is elsewhere ("moved to", "see").
 */
export function findStubs(ctx: DocsContext): Stub[] {
  const maxWords = ctx.input.stubMaxWords ?? 30;
  const stubs: Stub[] = [];
  for (const page of docsPages(ctx)) {
    if (isIndexPage(page)) continue;
    const parsed = ctx.parse(page);
    if (!parsed || parsed.links.length === 0 || parsed.links.length > 3) continue;
    if (parsed.substantialBlocks > 0 || parsed.headings.length > 1) continue;
    const words = countWords(parsed.prose);
    if (words > maxWords || (words > 3 && !POINTER.test(parsed.prose))) continue;
    const local = localLinks(ctx, page);
    const targets = new Set<string>();
    for (const link of local) {
      const target = pageOf(ctx, link.path);
      if (target && target !== page) targets.add(target);
    }
    for (const link of parsed.links) if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) targets.add(link.target);
    if (targets.size) stubs.push({ page, targets: [...targets] });
  }
  return stubs;
}

/** docs/stub on each stub page, and docs/link-to-stub on every link to it (fixable when the stub has one target page). */
export function checkStubs(ctx: DocsContext): DocsFinding[] {
  const findings: DocsFinding[] = [];
  const stubs = findStubs(ctx);
  if (!stubs.length) return findings;
  const byPage = new Map(stubs.map((s) => [s.page, s]));
  const incoming = new Map<string, DocsFinding[]>();
  for (const file of ctx.input.checked) {
    for (const link of localLinks(ctx, file)) {
      const target = pageOf(ctx, link.path);
      const stub = target && byPage.get(target);
      if (!stub || file === stub.page) continue;
      const single = stub.targets.length === 1 && isMarkdown(stub.targets[0]) ? stub.targets[0] : undefined;
      const edit =
        single && link.link.raw ? { file, line: link.link.line, from: link.link.raw, to: relativeLink(file, single) } : undefined;
      const finding: DocsFinding = {
        rule: 'docs/link-to-stub',
        severity: 'warning',
        file,
        line: link.link.line,
        ...(link.link.column ? { column: link.link.column } : {}),
        subject: link.link.target,
        message: `Link "${link.link.target}" points to ${stub.page}, a stub that only points to ${stub.targets.join(', ')}.`,
        fix: single ? `Link to ${relativeLink(file, single)} instead (--fix does this).` : `Link to the page the reader needs: ${stub.targets.join(' or ')}.`,
        ...(edit ? { edit } : {}),
      };
      findings.push(finding);
      const list = incoming.get(stub.page) ?? [];
      list.push(finding);
      incoming.set(stub.page, list);
    }
  }
  for (const stub of stubs) {
    const links = incoming.get(stub.page) ?? [];
    const from = links.map((f) => `${f.file}:${f.line}`);
    findings.push({
      rule: 'docs/stub',
      severity: 'warning',
      file: stub.page,
      subject: stub.page,
      message: `${stub.page} only points to ${stub.targets.join(', ')}.${from.length ? ` Linked from ${from.join(', ')}.` : ' Nothing links to it.'}`,
      fix: from.length
        ? 'Update those links to the real page (--fix does this when the stub has one target), then delete the stub.'
        : 'Delete the stub.',
    });
  }
  return findings;
}
