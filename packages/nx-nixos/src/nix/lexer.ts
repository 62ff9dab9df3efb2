/**
 * The Nix lexer, as Nix 2.8's src/libexpr/lexer.l reads source: longest match between identifiers,
 * numbers, operators, URIs and the path forms, with strings, indented strings, antiquotations and
 * interpolated paths tracked, so that what is inside a string or a comment is never code. Every reader
 * of Nix source (the import graph, the hygiene rules, the option checks in tools/) reads it through
 * this lexer. Linear in the input: an explicit stack instead of recursion, and no rule reads a run of
 * characters twice.
 */

export type NixTokenKind =
  /** Identifier or keyword. */
  | 'id'
  | 'int'
  | 'float'
  | 'uri'
  /** An operator or punctuation (`{`, `;`, `//`, `...`), or any other single character. */
  | 'op'
  /** A whole path literal: `./a`, `a/b`, `/abs`, `~/h`. */
  | 'path'
  /** A search path: `<nixpkgs/lib>`, brackets included. */
  | 'spath'
  /** The literal start of an interpolated path (`./a/` of `./a/${x}`): path-text and antiquotations follow, then path-end. */
  | 'path-start'
  | 'path-text'
  /** Zero-width: where an interpolated path ends. */
  | 'path-end'
  /** `"` or `''`; str-text and antiquotations follow, then str-end. */
  | 'str-start'
  /** Literal text of a string, escapes as written (see stringValue). */
  | 'str-text'
  | 'str-end'
  /** `${`, in a string, in a path, or in code (a dynamic attribute name). */
  | 'interp-start'
  /** The `}` that closes an antiquotation. */
  | 'interp-end'
  /** The last token: a comment, string or antiquotation that starts at `start` is never closed. */
  | 'unterminated';

export interface NixToken {
  kind: NixTokenKind;
  /** Offsets into the source: the token is source.slice(start, end). */
  start: number;
  end: number;
}

// Character classes of the lexer's rules, as bit flags per ASCII code.
const PC = 1; // path character: [a-zA-Z0-9._\-+]
const SCHEME = 2; // URI scheme character after the first letter: [a-zA-Z0-9+\-.]
const URI = 4; // URI character after the colon: [a-zA-Z0-9%/?:@&=+$,\-_.!~*']
const ID = 8; // identifier character after the first: [a-zA-Z0-9_'-]
const CLASSES = new Uint8Array(128);
const mark = (chars: string, flag: number) => {
  for (const c of chars) CLASSES[c.charCodeAt(0)] |= flag;
};
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
mark(`${ALNUM}._-+`, PC);
mark(`${ALNUM}+-.`, SCHEME);
mark(`${ALNUM}%/?:@&=+$,-_.!~*'`, URI);
mark(`${ALNUM}_'-`, ID);

const OPERATORS = ['//', '->', '==', '!=', '<=', '>=', '&&', '||', '++', '...'];

/**
 * The lexer's rules at one position, each matched by hand in time proportional to what it reads. A rule
 * that reads a run of characters and then fails (`a.a.a.` is no path: no slash follows) would make a
 * regular expression retry the same run from every position, quadratic in the run; here the end of the
 * run is remembered for every position inside it.
 */
class Rules {
  private readonly n: number;
  private readonly runs = new Map<number, { from: number; end: number }>();

  constructor(private readonly src: string) {
    this.n = src.length;
  }

  has(i: number, flag: number): boolean {
    if (i >= this.n) return false;
    const c = this.src.charCodeAt(i);
    return c < 128 && (CLASSES[c] & flag) !== 0;
  }

  private at(i: number, ch: string): boolean {
    return this.src.charCodeAt(i) === ch.charCodeAt(0);
  }

  /** End of the run of `flag` characters starting at i (i itself when there is none). */
  runEnd(i: number, flag: number): number {
    let run = this.runs.get(flag);
    if (run && run.from <= i && i <= run.end) return run.end;
    let j = i;
    while (this.has(j, flag)) j++;
    if (!run) this.runs.set(flag, (run = { from: i, end: j }));
    run.from = i;
    run.end = j;
    return j;
  }

  /** `(/PC+)*` from j, then the end. */
  private segments(j: number): number {
    while (this.at(j, '/') && this.has(j + 1, PC)) j = this.runEnd(j + 1, PC);
    return j;
  }

  /** `PC*(/PC+)+/?`: length, or -1. */
  path(i: number): number {
    const r = this.runEnd(i, PC);
    if (!(this.at(r, '/') && this.has(r + 1, PC))) return -1;
    let j = this.segments(r);
    if (this.at(j, '/')) j++;
    return j - i;
  }

  /** The rules in flex order; the longest match wins, the earlier rule on a tie. */
  longest(i: number): [string, number] | undefined {
    const src = this.src;
    let bestName = '';
    let bestLength = 0;
    const offer = (name: string, length: number) => {
      if (length > bestLength) {
        bestName = name;
        bestLength = length;
      }
    };
    const c = src[i];
    // search: <PC+(/PC+)*>
    if (c === '<' && this.has(i + 1, PC)) {
      const j = this.segments(this.runEnd(i + 1, PC));
      if (this.at(j, '>')) offer('search', j + 1 - i);
    }
    // uri: [a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+
    if (/[a-zA-Z]/.test(c)) {
      const s = this.runEnd(i, SCHEME);
      if (this.at(s, ':') && this.has(s + 1, URI)) offer('uri', this.runEnd(s + 1, URI) - i);
    }
    // pathseg: PC*/\$\{
    const r = this.runEnd(i, PC);
    if (this.at(r, '/') && src.startsWith('${', r + 1)) offer('pathseg', r + 3 - i);
    // hpathstart: ~/\$\{
    if (src.startsWith('~/${', i)) offer('hpathstart', 4);
    offer('path', this.path(i));
    // hpath: ~(/PC+)+/?
    if (c === '~' && this.at(i + 1, '/') && this.has(i + 2, PC)) {
      let j = this.segments(i + 1);
      if (this.at(j, '/')) j++;
      offer('hpath', j - i);
    }
    // id: [a-zA-Z_][a-zA-Z0-9_'-]*
    if (/[a-zA-Z_]/.test(c)) offer('id', this.runEnd(i + 1, ID) - i);
    offer('float', this.float(i));
    // int: [0-9]+
    let d = i;
    while (d < this.n && src.charCodeAt(d) >= 48 && src.charCodeAt(d) <= 57) d++;
    offer('int', d - i);
    for (const op of OPERATORS) if (src.startsWith(op, i)) offer('op', op.length);
    return bestLength > 0 ? [bestName, bestLength] : undefined;
  }

  /** `(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?`: length, or -1. */
  private float(i: number): number {
    const src = this.src;
    const digits = (j: number) => {
      while (j < this.n && src.charCodeAt(j) >= 48 && src.charCodeAt(j) <= 57) j++;
      return j;
    };
    let j: number;
    if (src[i] >= '1' && src[i] <= '9') {
      j = digits(i + 1);
      if (src[j] !== '.') return -1;
      j = digits(j + 1);
    } else {
      j = src[i] === '0' ? i + 1 : i;
      if (src[j] !== '.') return -1;
      const end = digits(j + 1);
      if (end === j + 1) return -1;
      j = end;
    }
    if (src[j] === 'E' || src[j] === 'e') {
      const sign = src[j + 1] === '+' || src[j + 1] === '-' ? j + 2 : j + 1;
      const end = digits(sign);
      if (end > sign) j = end;
    }
    return j - i;
  }

  // In a path after an antiquotation: PC*(/PC+)+/? else PC*/ else PC+ (the first alternative that matches).
  pathContinuation(i: number): number {
    const r = this.runEnd(i, PC);
    if (this.at(r, '/') && this.has(r + 1, PC)) {
      let j = this.segments(r);
      if (this.at(j, '/')) j++;
      return j - i;
    }
    if (this.at(r, '/')) return r + 1 - i;
    return r - i;
  }
}

type Frame = 'code' | 'brace' | 'paren' | 'list' | 'interp' | 'str' | 'ind' | 'path';

const isSpace = (c: string) => /\s/.test(c);

/**
 * Reads `src` and hands each token to `onToken`, in source order; whitespace and comments give none.
 * Source that is not valid Nix still gives tokens: a closing bracket of any kind closes the innermost
 * open bracket or antiquotation, and one without an opener is an `op`.
 */
export function lexNix(src: string, onToken: (token: NixToken) => void): void {
  const n = src.length;
  const rules = new Rules(src);
  const stack: Frame[] = ['code'];
  const opened: number[] = [0]; // where each frame starts
  let i = 0;
  let textFrom = 0; // start of the literal text not yet handed over, in a string or path frame
  const emit = (kind: NixTokenKind, start: number, end: number) => onToken({ kind, start, end });
  const push = (frame: Frame, at: number) => {
    stack.push(frame);
    opened.push(at);
  };
  const pop = () => {
    opened.pop();
    return stack.pop() as Frame;
  };
  const flushText = (kind: 'str-text' | 'path-text', to: number) => {
    if (to > textFrom) emit(kind, textFrom, Math.min(to, n));
  };
  const startInterp = (kind: 'str-text' | 'path-text') => {
    flushText(kind, i);
    emit('interp-start', i, i + 2);
    push('interp', i);
    i += 2;
  };

  while (i < n) {
    const frame = stack[stack.length - 1];
    const c = src[i];
    if (frame === 'str') {
      if (c === '"') {
        flushText('str-text', i);
        emit('str-end', i, i + 1);
        pop();
        i++;
      } else if (c === '\\') i += 2;
      else if (c === '$') {
        if (src[i + 1] === '{') startInterp('str-text');
        else if (src[i + 1] === '"' || src[i + 1] === '\\') i += 1;
        else i += 2;
      } else i++;
      continue;
    }
    if (frame === 'ind') {
      if (src.startsWith("'''", i) || src.startsWith("''$", i)) i += 3;
      else if (src.startsWith("''\\", i)) i += 4;
      else if (src.startsWith("''", i)) {
        flushText('str-text', i);
        emit('str-end', i, i + 2);
        pop();
        i += 2;
      } else if (src.startsWith('${', i)) startInterp('str-text');
      else if (c === '$' && src[i + 1] !== '{' && src[i + 1] !== "'") i += 2;
      else if (c === "'" && src[i + 1] !== "'" && src[i + 1] !== '$') i += 2;
      else i++;
      continue;
    }
    if (frame === 'path') {
      if (src.startsWith('${', i)) {
        startInterp('path-text');
        continue;
      }
      const length = rules.pathContinuation(i);
      if (length > 0) {
        i += length;
        continue;
      }
      flushText('path-text', i);
      emit('path-end', i, i);
      pop();
      continue;
    }
    // Code: the top level, inside brackets, inside an antiquotation.
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      const end = src.indexOf('\n', i);
      i = end < 0 ? n : end;
      continue;
    }
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) {
        emit('unterminated', i, n);
        return;
      }
      i = end + 2;
      continue;
    }
    if (c === '"' || src.startsWith("''", i)) {
      const length = c === '"' ? 1 : 2;
      emit('str-start', i, i + length);
      push(c === '"' ? 'str' : 'ind', i);
      i += length;
      textFrom = i;
      continue;
    }
    if (src.startsWith('${', i)) {
      emit('interp-start', i, i + 2);
      push('interp', i);
      i += 2;
      continue;
    }
    if (c === '{' || c === '(' || c === '[') {
      emit('op', i, i + 1);
      push(c === '{' ? 'brace' : c === '(' ? 'paren' : 'list', i);
      i++;
      continue;
    }
    if (c === '}' || c === ')' || c === ']') {
      const closed = stack.length > 1 ? pop() : undefined;
      emit(closed === 'interp' ? 'interp-end' : 'op', i, i + 1);
      i++;
      if (closed === 'interp') textFrom = i;
      continue;
    }
    const token = rules.longest(i);
    if (!token) {
      emit('op', i, i + 1);
      i++;
      continue;
    }
    const [name, length] = token;
    const start = i;
    i += length;
    if (name === 'pathseg' || name === 'hpathstart') i -= 2; // the `${` is read in the path
    if (name === 'pathseg' || name === 'hpathstart' || ((name === 'path' || name === 'hpath') && src.startsWith('${', i))) {
      emit('path-start', start, i);
      push('path', start);
      textFrom = i;
    } else emit(KIND[name], start, i);
  }
  // The end of the source closes an interpolated path; an open string or antiquotation is reported.
  while (stack.length > 1) {
    const start = opened[opened.length - 1];
    const frame = pop();
    if (frame === 'path') {
      flushText('path-text', n);
      emit('path-end', n, n);
    } else if (frame === 'str' || frame === 'ind' || frame === 'interp') {
      emit('unterminated', start, n);
      return;
    }
  }
}

const KIND: Record<string, NixTokenKind> = { search: 'spath', uri: 'uri', path: 'path', hpath: 'path', id: 'id', float: 'float', int: 'int', op: 'op' };

const ESCAPED: Record<string, string> = { n: '\n', r: '\r', t: '\t' };
const unescape = (c: string | undefined) => (c === undefined ? '' : (ESCAPED[c] ?? c));

/**
 * The value of a run of string text (a str-text token), escapes resolved as Nix does: `\n`, `\"`, `\$`
 * in a "string"; `'''`, `''$`, `''\n` in an ''indented string''. The indentation Nix strips from an
 * indented string is kept.
 */
export function stringValue(src: string, start: number, end: number, indented: boolean): string {
  const parts: string[] = [];
  let from = start;
  let i = start;
  while (i < end) {
    let length = 0;
    let value = '';
    if (!indented && src[i] === '\\') [length, value] = [2, unescape(src[i + 1])];
    else if (indented && src.startsWith("''", i)) {
      const next = src[i + 2];
      [length, value] = next === '\\' ? [4, unescape(src[i + 3])] : [3, next === "'" ? "''" : '$'];
    }
    if (length === 0) {
      i++;
      continue;
    }
    parts.push(src.slice(from, i), value);
    i += length;
    from = i;
  }
  parts.push(src.slice(from, end));
  return parts.join('');
}

/** Line numbers (1-based) of offsets that mostly come in increasing order, as tokens do: each newline is counted once. */
export function lineCounter(src: string): (offset: number) => number {
  let line = 1;
  let next = src.indexOf('\n');
  let last = 0;
  return (offset) => {
    if (offset < last) {
      line = 1;
      next = src.indexOf('\n');
    }
    while (next !== -1 && next < offset) {
      line++;
      next = src.indexOf('\n', next + 1);
    }
    last = offset;
    return line;
  };
}

