import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describeIfTools } from '../../testing/tools';
import { PathLiteral, scanPathLiterals } from './path-literals';

// The lexer (src/nix/lexer.ts) is proven against Nix's own parser: `nix-instantiate --parse` prints every path literal
// as an absolute path (an interpolated path as its literal prefix) and every `<x>` as `__findFile __nixPath "x"`.
const repoRoot = resolve(__dirname, '../../../../..');
const fixtures = resolve(__dirname, '../../../test/fixtures/nix-imports');

function nixFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist' || e.name === 'artifacts') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...nixFiles(p));
    else if (e.name.endsWith('.nix')) out.push(p);
  }
  return out;
}

/** Path and search-path literals in Nix's printed AST (strings skipped, escapes honoured). */
function fromNixParse(printed: string): { paths: Set<string>; search: Set<string> } {
  const paths = new Set<string>();
  const search = new Set<string>();
  let i = 0;
  while (i < printed.length) {
    const c = printed[i];
    if (c === '"') {
      i++;
      while (i < printed.length && printed[i] !== '"') i += printed[i] === '\\' ? 2 : 1;
      i++;
    } else if (printed.startsWith('__findFile __nixPath "', i)) {
      const start = i + '__findFile __nixPath "'.length;
      const end = printed.indexOf('"', start);
      search.add(printed.slice(start, end));
      i = end + 1;
    } else if (c === '/' && (i === 0 || /[\s([]/.test(printed[i - 1]))) {
      const m = /[^\s()[\];{}]+/y;
      m.lastIndex = i;
      const tok = (m.exec(printed) as RegExpExecArray)[0];
      if (tok !== '//') paths.add(tok); // `//` is the update operator, printed infix
      i += tok.length;
    } else i++;
  }
  return { paths, search };
}

/** What Nix makes of one literal: relative to the file's folder, `~` from HOME, canonical, prefix slash kept. */
function absolute(file: string, lit: PathLiteral): string {
  const base = lit.kind === 'home' ? resolve(homedir(), lit.text.slice(2)) : resolve(dirname(file), lit.text);
  return lit.text.endsWith('/') && base !== '/' ? `${base}/` : base;
}

const describeWithNix = describeIfTools(['nix-instantiate']);

describeWithNix('path literals agree with nix-instantiate --parse', () => {
  const files = [...nixFiles(repoRoot).filter((f) => !f.startsWith(fixtures)), ...nixFiles(fixtures)];

  it('covers the repository and the fixtures', () => {
    expect(files.filter((f) => f.startsWith(fixtures)).length).toBeGreaterThanOrEqual(8);
    expect(files.filter((f) => !f.startsWith(fixtures)).length).toBeGreaterThanOrEqual(10);
  });

  it.each(files.map((f) => [relative(repoRoot, f), f]))('%s', (_name, file) => {
    const printed = execFileSync('nix-instantiate', ['--parse', file], { encoding: 'utf8', env: { ...process.env, HOME: homedir() } });
    const nix = fromNixParse(printed);
    const ours = scanPathLiterals(readFileSync(file, 'utf8'));
    expect(new Set(ours.filter((l) => l.kind !== 'search').map((l) => absolute(file, l)))).toEqual(nix.paths);
    expect(new Set(ours.filter((l) => l.kind === 'search').map((l) => l.text))).toEqual(nix.search);
  });
});
