/**
 * File names as Git stores them: bytes, not necessarily UTF-8. Git's listing with core.quotePath=true
 * is lossless ASCII ("bad\377name.txt" for a name with the byte 0xff); it is decoded to the bytes, and
 * each name gets a printable form: the name itself when it is valid UTF-8 without control characters,
 * else the same with the odd bytes written \xNN (and \t, \n, \\), so a name never breaks a report line
 * or carries a terminal escape. Such names keep their bytes beside them, to open the file.
 */

const C_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** The bytes of a path that Git printed C-quoted ("a\tb", "\303\251"), or as it is when not quoted. */
export function unquoteGitPath(text: string): Buffer {
  if (!text.startsWith('"') || !text.endsWith('"') || text.length < 2) return Buffer.from(text, 'utf8');
  const bytes: number[] = [];
  const body = text.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      const code = body.charCodeAt(i);
      if (code < 0x80) bytes.push(code);
      else for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      continue;
    }
    const next = body[i + 1];
    if (next !== undefined && next >= '0' && next <= '7') {
      bytes.push(parseInt(body.slice(i + 1, i + 4), 8) & 0xff);
      i += 3;
    } else {
      bytes.push(C_ESCAPES[next] ?? next?.charCodeAt(0) ?? 92);
      i += 1;
    }
  }
  return Buffer.from(bytes);
}

/** Length of the valid UTF-8 sequence at `i` (1 to 4), or 0 when the byte there does not start one. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => i + j < bytes.length && bytes[i + j] >= lo && bytes[i + j] <= hi;
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (b === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b >= 0xe1 && b <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const hex = (b: number) => `\\x${b.toString(16).padStart(2, '0')}`;
const CONTROL_ESCAPES: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };

export interface GitPath {
  /** Printable, as reports show it and allowlists name it. */
  name: string;
  /** The bytes, when `name` is not simply their UTF-8 decoding. */
  raw?: Buffer;
}

/** The printable name of a path's bytes, and the bytes when the name had to be escaped. */
export function gitPath(bytes: Buffer): GitPath {
  let plain = true;
  for (let i = 0; i < bytes.length && plain; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0 || bytes[i] < 0x20 || bytes[i] === 0x7f) plain = false;
    else i += n;
  }
  if (plain) return { name: bytes.toString('utf8') };
  let name = '';
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    const b = bytes[i];
    if (n === 0 || b < 0x20 || b === 0x7f) {
      name += CONTROL_ESCAPES[b] ?? hex(b);
      i += 1;
    } else if (b === 0x5c) {
      name += '\\\\';
      i += 1;
    } else {
      name += bytes.toString('utf8', i, i + n);
      i += n;
    }
  }
  return { name, raw: Buffer.from(bytes) };
}

/** Paths of a `git -c core.quotePath=true ...` listing, one per line (the quoting keeps newlines out of names). */
export function parseGitPathLines(output: string): GitPath[] {
  const paths: GitPath[] = [];
  for (const line of output.split('\n')) if (line) paths.push(line.charCodeAt(0) === 34 ? gitPath(unquoteGitPath(line)) : { name: line });
  return paths;
}

/** A POSIX shell word for a path given as bytes: $'...' with \xNN for every byte that is not plain ASCII. */
export function shellQuoteBytes(bytes: Buffer): string {
  let out = "$'";
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : hex(b);
  return `${out}'`;
}

/** A Git pathspec that matches these bytes: literal characters, `?` for each byte that is not valid UTF-8. */
export function bytesPathspec(bytes: Buffer): string {
  let spec = ':(glob)';
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceLength(bytes, i);
    if (n === 0) {
      spec += '?';
      i += 1;
    } else {
      const c = bytes.toString('utf8', i, i + n);
      spec += /[*?[\]\\]/.test(c) ? `\\${c}` : c;
      i += n;
    }
  }
  return spec;
}
