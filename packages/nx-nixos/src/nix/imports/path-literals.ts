import { lexNix, lineCounter } from '../lexer';

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

/** The path literals of a Nix source file, as Nix's lexer finds them: none inside strings or comments. */
export function scanPathLiterals(src: string): PathLiteral[] {
  const out: PathLiteral[] = [];
  const lineAt = lineCounter(src);
  // One entry per open bracket or antiquotation, innermost last: whether it is an `imports = [` list.
  const open = [false];
  let prev = ''; // previous significant token in code
  let lastTwo = ''; // the one before it, enough to recognise `imports = [`
  let interpolated: PathLiteral | undefined; // the path whose antiquotations are being read
  const shift = (token: string) => {
    lastTwo = prev;
    prev = token;
  };
  const emit = (kind: PathKind, text: string, start: number, dynamic: boolean): PathLiteral => {
    const imported = prev === 'import' || prev.endsWith('callPackage') || open[open.length - 1];
    const lit: PathLiteral = { kind, text, dynamic, imported, line: lineAt(start) };
    out.push(lit);
    return lit;
  };
  // `path + ...` makes the path the start of a longer one.
  const beforePlus = (lit: PathLiteral, end: number) => {
    let j = end;
    while (j < src.length && /\s/.test(src[j])) j++;
    if (src[j] === '+' && src[j + 1] !== '+') lit.dynamic = true;
  };

  lexNix(src, ({ kind, start, end }) => {
    const text = src.slice(start, end);
    switch (kind) {
      case 'spath':
        emit('search', text.slice(1, -1), start, false);
        shift('path');
        break;
      case 'path':
        beforePlus(emit(kindOf(text), text, start, false), end);
        shift('path');
        break;
      case 'path-start':
        interpolated = emit(kindOf(text), text, start, true);
        shift('path-open');
        break;
      case 'path-end':
        if (interpolated) beforePlus(interpolated, end);
        interpolated = undefined;
        shift('path');
        break;
      case 'str-end':
        shift('string');
        break;
      case 'interp-start':
        open.push(false);
        shift('${');
        break;
      case 'interp-end':
        if (open.length > 1) open.pop();
        shift(text);
        break;
      case 'op':
        if (text === '{' || text === '(' || text === '[') open.push(text === '[' && prev === '=' && lastTwo === 'imports');
        else if ((text === '}' || text === ')' || text === ']') && open.length > 1) open.pop();
        shift(text);
        break;
      case 'id':
      case 'int':
      case 'float':
      case 'uri':
        shift(text);
        break;
    }
  });
  return out;
}

function kindOf(text: string): PathKind {
  return text.startsWith('~') ? 'home' : text.startsWith('/') ? 'absolute' : 'relative';
}
