import type { TextEdit } from './types';

/**
 * Applies edits to one file's text. Each edit replaces `from` on its line; if the line no longer holds it
 * (the file moved on), the nearest line that does. Edits whose text is gone are returned as skipped.
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): { text: string; applied: TextEdit[]; skipped: TextEdit[] } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const applied: TextEdit[] = [];
  const skipped: TextEdit[] = [];
  // Bottom-up and right-to-left keeps earlier positions valid when one line gets several edits.
  const ordered = [...edits].sort((a, b) => b.line - a.line);
  for (const edit of ordered) {
    if (edit.from === edit.to) continue;
    let index = -1;
    for (let d = 0; d < lines.length && index === -1; d++) {
      for (const candidate of d === 0 ? [edit.line - 1] : [edit.line - 1 - d, edit.line - 1 + d]) {
        if (candidate >= 0 && candidate < lines.length && lines[candidate].includes(edit.from)) {
          index = candidate;
          break;
        }
      }
    }
    if (index === -1) {
      skipped.push(edit);
      continue;
    }
    const at = lines[index].lastIndexOf(edit.from);
    lines[index] = lines[index].slice(0, at) + edit.to + lines[index].slice(at + edit.from.length);
    applied.push(edit);
  }
  return { text: lines.join(eol), applied, skipped };
}

/** Groups edits by file. */
export function editsByFile(edits: readonly TextEdit[]): Map<string, TextEdit[]> {
  const out = new Map<string, TextEdit[]>();
  for (const edit of edits) {
    const list = out.get(edit.file) ?? [];
    list.push(edit);
    out.set(edit.file, list);
  }
  return out;
}
