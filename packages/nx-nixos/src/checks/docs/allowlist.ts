import type { AllowlistEntry } from '../../report/allowlist';
import type { TreeReader } from './read-tree';

const EXPECTED = 'Expected an array of { "rule", "path", "hash", "reason" }';

/**
 * Where JSON that JSON.parse rejected stops being JSON, as line and column. Errors name this place and
 * never quote the text (JSON.parse's own message does, and the file may not be the allowlist it was meant to be).
 */
export function jsonErrorPosition(text: string): { line: number; column: number } {
  const n = text.length;
  let i = 0;
  const closers: string[] = [];
  const space = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      if (c < 32) return false;
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return false;
      } else i++;
    }
    return false;
  };
  const digits = () => {
    const start = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') i++;
    return i > start;
  };
  const value = (): boolean => {
    space();
    const c = text[i];
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (text[i] === '0') i++;
      else if (!digits()) return false;
      if (text[i] === '.') {
        i++;
        if (!digits()) return false;
      }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (!digits()) return false;
      }
      return true;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return true;
      }
    }
    return false;
  };
  const key = (): boolean => {
    space();
    if (text[i] !== '"' || !string()) return false;
    space();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  // Nesting is kept on a stack, not in recursion: a file of 100,000 `[` is an error, not a stack overflow.
  scan: for (;;) {
    space();
    if (text[i] === '{' || text[i] === '[') {
      const closer = text[i] === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === closer) i++;
      else {
        closers.push(closer);
        if (closer === '}' && !key()) break;
        continue;
      }
    } else if (!value()) break;
    for (;;) {
      space();
      if (closers.length === 0) break scan;
      const closer = closers[closers.length - 1];
      if (text[i] === closer) {
        closers.pop();
        i++;
      } else if (text[i] === ',') {
        i++;
        if (closer === '}' && !key()) break scan;
        continue scan;
      } else break scan;
    }
  }
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < i && k < n; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: Math.min(i, n) - lineStart + 1 };
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Parses allowlist text: a JSON array of { rule, path, hash, reason }, or { "allowlist": [...] }. `file` names it in errors. */
export function parseAllowlist(text: string, file: string): AllowlistEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const { line, column } = jsonErrorPosition(text);
    throw new Error(`${file}: not valid JSON (line ${line}, column ${column}). ${EXPECTED}.`);
  }
  const list = isObject(data) && 'allowlist' in data ? data.allowlist : data;
  if (!Array.isArray(list)) throw new Error(`${file}: (root): not an array. ${EXPECTED}.`);
  const problem = (entry: unknown): [string, string] | undefined => {
    if (!isObject(entry)) return ['', 'not an object'];
    for (const field of ['rule', 'path'] as const) {
      if (typeof entry[field] !== 'string' || entry[field] === '') return [`.${field}`, 'a non-empty string'];
    }
    if (typeof entry.hash !== 'string' || !/^([0-9a-f]{16}|\*)$/.test(entry.hash)) return ['.hash', 'a 16-hex-digit content hash (from json output) or "*"'];
    if (typeof entry.reason !== 'string' || entry.reason === '') return ['.reason', 'say why the finding is accepted'];
    return undefined;
  };
  for (let i = 0; i < list.length; i++) {
    const found = problem(list[i]);
    if (found) throw new Error(`${file}: ${i}${found[0]}: ${found[1]}. ${EXPECTED}.`);
  }
  return (list as Record<string, string>[]).map(({ rule, path, hash, reason }) => ({ rule, path, hash, reason }));
}

/**
 * Reads the allowlist named relative to the tree's root: a regular file inside the tree, never through a
 * symlink that leads out of it.
 */
export function loadAllowlist(reader: TreeReader, file: string): AllowlistEntry[] {
  const read = reader.read(file, 4 * 1024 * 1024);
  if (read.text === undefined)
    throw new Error(`${file}: cannot read the allowlist: it ${read.problem}. The allowlist is a JSON file inside the repository, named relative to its root.`);
  return parseAllowlist(read.text, file);
}
