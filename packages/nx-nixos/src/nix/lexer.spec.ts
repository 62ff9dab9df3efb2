import { lexNix, lineCounter, NixToken, stringValue } from './lexer';

/** Tokens as `kind text`. */
function lex(src: string): string[] {
  const out: string[] = [];
  lexNix(src, ({ kind, start, end }: NixToken) => out.push(`${kind} ${src.slice(start, end)}`.trimEnd()));
  return out;
}

describe('lexNix', () => {
  it('reads code by the longest match: identifiers, numbers, operators, URIs and the path forms', () => {
    expect(lex('a-b 1.5e3 .5 42 a // b -> ... http://x.org/p?q=1 a/b ./c ~/h /abs <nixpkgs/lib> é')).toEqual([
      'id a-b',
      'float 1.5e3',
      'float .5',
      'int 42',
      'id a',
      'op //',
      'id b',
      'op ->',
      'op ...',
      'uri http://x.org/p?q=1',
      'path a/b',
      'path ./c',
      'path ~/h',
      'path /abs',
      'spath <nixpkgs/lib>',
      'op é',
    ]);
  });

  it('skips whitespace and comments; a comment marker in a string or a URI is text', () => {
    expect(lex('# ./a\nx /* ./b */ "# not /* a comment" http://x.org/*')).toEqual([
      'id x',
      'str-start "',
      'str-text # not /* a comment',
      'str-end "',
      'uri http://x.org/*',
    ]);
  });

  it('reads strings with their escapes and antiquotations, which hold code again', () => {
    expect(lex('"a\\"${b}c" \'\'x\'\'${y}\'\'\\z\'\'')).toEqual([
      'str-start "',
      'str-text a\\"',
      'interp-start ${',
      'id b',
      'interp-end }',
      'str-text c',
      'str-end "',
      "str-start ''",
      "str-text x''${y}''\\z",
      "str-end ''",
    ]);
    expect(lex('"$${x}" \'\'$${x}\'\'')).toEqual(['str-start "', 'str-text $${x}', 'str-end "', "str-start ''", 'str-text $${x}', "str-end ''"]);
  });

  it('reads interpolated paths as a start, antiquotations and text, then a zero-width end', () => {
    expect(lex('./a/${b}.nix ~/${c} x')).toEqual([
      'path-start ./a/',
      'interp-start ${',
      'id b',
      'interp-end }',
      'path-text .nix',
      'path-end',
      'path-start ~/',
      'interp-start ${',
      'id c',
      'interp-end }',
      'path-end',
      'id x',
    ]);
  });

  it('tells a brace that closes an antiquotation from one that closes a set; ${ in code is an antiquotation too', () => {
    expect(lex('{ ${a} = "${ { b = 1; } }"; }')).toEqual([
      'op {',
      'interp-start ${',
      'id a',
      'interp-end }',
      'op =',
      'str-start "',
      'interp-start ${',
      'op {',
      'id b',
      'op =',
      'int 1',
      'op ;',
      'op }',
      'interp-end }',
      'str-end "',
      'op ;',
      'op }',
    ]);
  });

  it('ends with one unterminated token for a comment, string or antiquotation that is never closed', () => {
    expect(lex('a /* b')).toEqual(['id a', 'unterminated /* b']);
    expect(lex('"a ${ b')).toEqual(['str-start "', 'str-text a', 'interp-start ${', 'id b', 'unterminated ${ b']);
    expect(lex("x = ''a")).toEqual(['id x', 'op =', "str-start ''", "unterminated ''a"]);
    // An interpolated path ends with the source; an unclosed bracket is not an error of the lexer.
    expect(lex('[ ./a/${b}')).toEqual(['op [', 'path-start ./a/', 'interp-start ${', 'id b', 'interp-end }', 'path-end']);
  });
});

describe('stringValue', () => {
  const value = (src: string, indented: boolean) => stringValue(src, 0, src.length, indented);

  it('resolves escapes as Nix does', () => {
    expect(value('a\\"b\\$\\n\\t\\q', false)).toBe('a"b$\n\tq');
    expect(value("a'''b''$''\\n''\\x c", true)).toBe("a''b$\nx c");
    expect(value('$$x', false)).toBe('$$x');
  });
});

describe('lineCounter', () => {
  it('gives 1-based lines, also when asked again for an earlier offset', () => {
    const lineAt = lineCounter('a\nb\n\nc');
    expect([0, 1, 2, 4, 5, 2, 0].map(lineAt)).toEqual([1, 1, 2, 3, 4, 2, 1]);
  });
});
