/**
 * Finds the path literals of a Nix source file the way Nix 2.8's lexer (src/libexpr/lexer.l) does:
 * longest match between identifiers, numbers, operators, URIs and the path forms, with the string,
 * indented-string and antiquotation states tracked so paths inside strings and comments are not paths.
 */

export type PathKind = 'relative' | 'absolute' | 'home' | 'search';

export interface PathLiteral {
  kind: PathKind;
  /** The literal text; for an interpolated path (`./foo/${x}.nix`) the part before the first `${`. */
  text: string;
  /** The path continues with an antiquotation (`./foo/${x}`), or is the left side of `+` (`./. + "/${x}"`). */
  dynamic: boolean;
  /** Directly imported: argument of `import`/`callPackage`, or an element of an `imports = [ ... ]` list. */
  imported: boolean;
  line: number;
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

type Frame = 'code' | 'brace' | 'anti' | 'str' | 'ind' | 'inpath' | 'list' | 'imports-list' | 'paren';

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
  longest(i: number): [string, string] | undefined {
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
    return bestLength > 0 ? [bestName, src.slice(i, i + bestLength)] : undefined;
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

export function scanPathLiterals(src: string): PathLiteral[] {
  const out: PathLiteral[] = [];
  const rules = new Rules(src);
  const stack: Frame[] = ['code'];
  let i = 0;
  let prev = ''; // previous significant token in code
  let lastTwo = ''; // the one before it
  let open: PathLiteral | undefined; // the path whose antiquotation/continuation is being read
  const lineAt = (() => {
    const starts = [0];
    for (let k = 0; k < src.length; k++) if (src[k] === '\n') starts.push(k + 1);
    return (pos: number) => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= pos) lo = mid;
        else hi = mid - 1;
      }
      return lo + 1;
    };
  })();
  const top = () => stack[stack.length - 1];
  const emit = (kind: PathKind, text: string, pos: number, dynamic: boolean) => {
    const lit: PathLiteral = {
      kind,
      text,
      dynamic,
      imported: prev === 'import' || prev.endsWith('callPackage') || top() === 'imports-list',
      line: lineAt(pos),
    };
    out.push(lit);
    return lit;
  };
  const afterPath = (lit: PathLiteral) => {
    let j = i;
    while (j < src.length && /\s/.test(src[j])) j++;
    if (src[j] === '+' && src[j + 1] !== '+') lit.dynamic = true;
  };

  while (i < src.length) {
    const frame = top();
    const c = src[i];
    if (frame === 'str') {
      if (c === '"') {
        stack.pop();
        i++;
        prev = 'string';
      } else if (c === '\\') i += 2;
      else if (c === '$') {
        if (src[i + 1] === '{') {
          stack.push('anti');
          i += 2;
          prev = '${';
        } else if (src[i + 1] === '"' || src[i + 1] === '\\') i += 1;
        else i += 2;
      } else i++;
      continue;
    }
    if (frame === 'ind') {
      if (src.startsWith("'''", i) || src.startsWith("''$", i)) i += 3;
      else if (src.startsWith("''\\", i)) i += 4;
      else if (src.startsWith("''", i)) {
        stack.pop();
        i += 2;
        prev = 'string';
      } else if (src.startsWith('${', i)) {
        stack.push('anti');
        i += 2;
        prev = '${';
      } else if (c === '$' && src[i + 1] !== '{' && src[i + 1] !== "'") i += 2;
      else if (c === "'" && src[i + 1] !== "'" && src[i + 1] !== '$') i += 2;
      else i++;
      continue;
    }
    if (frame === 'inpath') {
      if (src.startsWith('${', i)) {
        stack.push('anti');
        i += 2;
        prev = '${';
        continue;
      }
      const length = rules.pathContinuation(i);
      if (length > 0) {
        i += length;
        continue;
      }
      stack.pop();
      if (open) afterPath(open);
      open = undefined;
      prevTwo('path');
      continue;
    }
    // Code (top level, braces, parentheses, lists, antiquotations).
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      i = end < 0 ? src.length : end + 2;
      continue;
    }
    if (c === '"') {
      stack.push('str');
      i++;
      continue;
    }
    if (src.startsWith("''", i)) {
      stack.push('ind');
      i += 2;
      continue;
    }
    if (src.startsWith('${', i)) {
      stack.push('anti');
      i += 2;
      prev = '${';
      continue;
    }
    if (c === '{' || c === '(' || c === '[') {
      stack.push(c === '{' ? 'brace' : c === '(' ? 'paren' : prev === '=' && lastTwo === 'imports' ? 'imports-list' : 'list');
      i++;
      prevTwo(c);
      continue;
    }
    if (c === '}' || c === ')' || c === ']') {
      if (stack.length > 1) stack.pop();
      i++;
      prevTwo(c);
      continue;
    }
    const tok = rules.longest(i);
    if (!tok) {
      i++;
      prevTwo(c);
      continue;
    }
    const [name, text] = tok;
    const start = i;
    i += text.length;
    if (name === 'search') {
      emit('search', text.slice(1, -1), start, false);
      prevTwo('path');
    } else if (name === 'pathseg' || name === 'hpathstart') {
      const body = text.slice(0, -2);
      i -= 2;
      open = emit(name === 'hpathstart' ? 'home' : kindOf(body), body, start, true);
      stack.push('inpath');
      prevTwo('path-open');
    } else if (name === 'path' || name === 'hpath') {
      const lit = emit(name === 'hpath' ? 'home' : kindOf(text), text, start, false);
      if (src.startsWith('${', i)) {
        lit.dynamic = true;
        open = lit;
        stack.push('inpath');
        prevTwo('path-open');
      } else {
        afterPath(lit);
        prevTwo('path');
      }
    } else prevTwo(text);
  }
  return out;

  // Tracks the last two significant tokens, enough to recognise `imports = [`.
  function prevTwo(t: string) {
    lastTwo = prev;
    prev = t;
  }
}

function kindOf(text: string): PathKind {
  return text.startsWith('/') ? 'absolute' : 'relative';
}
