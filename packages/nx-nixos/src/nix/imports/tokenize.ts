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

const PC = '[a-zA-Z0-9._\\-+]';
const CANDIDATES: Array<[string, RegExp]> = [
  ['search', new RegExp(`<${PC}+(/${PC}+)*>`, 'y')],
  ['uri', /[a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+/y],
  ['pathseg', new RegExp(`${PC}*/\\$\\{`, 'y')],
  ['hpathstart', /~\/\$\{/y],
  ['path', new RegExp(`${PC}*(/${PC}+)+/?`, 'y')],
  ['hpath', new RegExp(`~(/${PC}+)+/?`, 'y')],
  ['id', /[a-zA-Z_][a-zA-Z0-9_'-]*/y],
  ['float', /(([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?/y],
  ['int', /[0-9]+/y],
  ['op', /\/\/|->|==|!=|<=|>=|&&|\|\||\+\+|\.\.\./y],
];
const PATH_CONT = new RegExp(`(${PC}*(/${PC}+)+/?|${PC}*/|${PC}+)`, 'y');

type Frame = 'code' | 'brace' | 'anti' | 'str' | 'ind' | 'inpath' | 'list' | 'imports-list' | 'paren';

function longest(src: string, i: number): [string, string] | undefined {
  let best: [string, string] | undefined;
  for (const [name, re] of CANDIDATES) {
    re.lastIndex = i;
    const m = re.exec(src);
    // Earlier candidates win ties, as in flex (rule order).
    if (m && (!best || m[0].length > best[1].length)) best = [name, m[0]];
  }
  return best;
}

export function scanPathLiterals(src: string): PathLiteral[] {
  const out: PathLiteral[] = [];
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
      imported: prev === 'import' || /callPackage$/.test(prev) || top() === 'imports-list',
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
      PATH_CONT.lastIndex = i;
      const m = PATH_CONT.exec(src);
      if (m && m[0].length > 0) {
        i += m[0].length;
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
    const tok = longest(src, i);
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
