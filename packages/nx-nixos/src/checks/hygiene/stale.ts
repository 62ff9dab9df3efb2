import type { Finding } from '../../report/finding';
import { hygieneFinding } from './rules';
import { positions } from './text';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Files that name folders for Git or Nx itself rather than referring to their content. */
const EXEMPT = /(^|\/)(\.gitignore|\.gitattributes|\.dockerignore|\.prettierignore|nx\.json|project\.json)$/;

/**
 * One matcher for all legacy folders: a path that starts with the folder (optionally after ./ or ../).
 * A one-segment folder must be followed by "/" ("legacy/x.nix", not the word "legacy").
 */
export function legacyMatcher(folders: readonly string[]): RegExp | undefined {
  const names = folders.map((f) => f.replace(/^\.\//, '').replace(/\/+$/, '')).filter(Boolean);
  if (names.length === 0) return undefined;
  const alternatives = names.map((n) => (n.includes('/') ? `${escape(n)}(?![\\w-])` : `${escape(n)}(?=/)`));
  return new RegExp(`(?<![\\w./-])(?:\\.\\.?/)*(${alternatives.join('|')})`, 'g');
}

/** stale/legacy-reference: live files (outside the legacy folders) that still point into them. */
export function checkLegacyReferences(file: string, text: string, folders: readonly string[], matcher = legacyMatcher(folders)): Finding[] {
  if (!matcher || EXEMPT.test(file)) return [];
  if (folders.some((f) => file.startsWith(`${f.replace(/\/+$/, '')}/`))) return [];
  let at: ReturnType<typeof positions> | undefined;
  const findings: Finding[] = [];
  // The line of the last match: many matches on one long line must not each search for its end.
  let lineEnd = -1;
  let lineText = '';
  for (const match of text.matchAll(matcher)) {
    at ??= positions(text);
    const { line, column } = at(match.index);
    if (match.index > lineEnd) {
      lineEnd = text.indexOf('\n', match.index);
      if (lineEnd === -1) lineEnd = text.length;
      const start = match.index - column + 1;
      lineText = text.slice(start, Math.min(lineEnd, start + 4096)).trim();
    }
    findings.push(
      hygieneFinding('stale/legacy-reference', file, { line, column }, {
        message: `Refers to the legacy folder ${match[1]}/ ("${match[0]}").`,
        fix: `Point it at the current location, or drop the reference; ${match[1]}/ is kept only as an archive.`,
        subject: lineText.slice(0, 200),
      }),
    );
  }
  return findings;
}
