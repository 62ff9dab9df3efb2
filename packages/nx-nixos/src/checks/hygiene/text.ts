/** Line and column (1-based) of offsets in a text, computed once per file. */
export function positions(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo] + 1 };
  };
}

/** A POSIX shell word for a path, for fix commands people paste. */
export function shellQuote(value: string): string {
  return /^[\w./@%+=:,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Not a real credential: too few distinct characters (xxxx, 0000) or a run of 6 ascending characters
 * (abcdef, 123456), which random tokens practically never contain but made-up examples do.
 */
export function looksLikePlaceholder(value: string): boolean {
  const chars = value.replace(/[^A-Za-z0-9]/g, '');
  if (new Set(chars).size < 6) return true;
  let run = 1;
  for (let i = 1; i < chars.length; i++) {
    run = chars.charCodeAt(i) === chars.charCodeAt(i - 1) + 1 ? run + 1 : 1;
    if (run >= 6) return true;
  }
  return false;
}
