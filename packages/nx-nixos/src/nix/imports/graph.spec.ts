import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildImportGraph, importClosure, resolveFileImports } from './graph';
import { scanPathLiterals } from './path-literals';

const root = resolve(__dirname, '../../../test/fixtures/nix-imports');
const files = [
  'profiles/web/profile.nix',
  'modules/shared/default.nix',
  'modules/shared/users.nix',
  'modules/services/db/default.nix',
  'modules/plain.nix',
  'modules/tool.nix',
  'modules/dynamic/one.nix',
  'modules/dynamic/two.nix',
  'nasty.nix',
];

describe('scanPathLiterals', () => {
  it('ignores comments and strings but sees antiquotations in both string kinds', () => {
    const lits = scanPathLiterals(`# ./c.nix\n"./s ${'$'}{./a} \\${'$'}{./no}" + ''./t ''${'$'}{./no2} ${'$'}{./b}'' /* ./d */`);
    expect(lits.map((l) => l.text)).toEqual(['./a', './b']);
  });

  it('marks imported, dynamic and search-path literals', () => {
    const lits = scanPathLiterals('{ imports = [ ./m ]; x = import ./n; y = ./d/${"a"}.nix; z = ./. + "/f"; w = <nixpkgs/lib>; v = ./plain; }');
    expect(lits.map((l) => [l.text, l.kind, l.imported, l.dynamic])).toEqual([
      ['./m', 'relative', true, false],
      ['./n', 'relative', true, false],
      ['./d/', 'relative', false, true],
      ['./.', 'relative', false, true],
      ['nixpkgs/lib', 'search', false, false],
      ['./plain', 'relative', false, false],
    ]);
  });

  it('follows the longest match like the Nix lexer: a/b is a path, a // b and a/ b are not', () => {
    expect(scanPathLiterals('[ a/b (a // b) (a/ b) http://x.org/p ~/h 1/2 ]').map((l) => l.text)).toEqual(['a/b', '~/h', '1/2']);
  });
});

describe('resolveFileImports', () => {
  it('resolves a profile: directories imported as default.nix, read folders, dynamic folders, externals', () => {
    const r = resolveFileImports(root, 'profiles/web/profile.nix', readFileSync(resolve(root, 'profiles/web/profile.nix'), 'utf8'));
    expect(r.dependencies.map((d) => `${d.kind} ${d.path}`)).toEqual([
      'folder modules/dynamic',
      'file data/banner.txt',
      'file modules/shared/default.nix',
      'file modules/services/db/default.nix',
      'file modules/plain.nix',
      'folder data/static',
      'file modules/tool.nix',
    ]);
    expect(r.external.map((x) => x.text)).toEqual(['<nixpkgs>', '<nixpkgs/lib>']);
  });

  it('turns interpolated paths into their folder and reports paths leaving the workspace', () => {
    const r = resolveFileImports(root, 'modules/services/db/default.nix', readFileSync(resolve(root, 'modules/services/db/default.nix'), 'utf8'));
    expect(r.dependencies.map((d) => `${d.kind} ${d.path}`)).toEqual([
      'file modules/services/db/schema.sql',
      'folder modules/services/db',
      'folder modules/services/db/extras',
      'file modules/services/db/config',
    ]);
    const nasty = resolveFileImports(root, 'nasty.nix', readFileSync(resolve(root, 'nasty.nix'), 'utf8'));
    expect(nasty.external.map((x) => `${x.kind} ${x.text}`)).toEqual(
      expect.arrayContaining(['absolute /abs/path.nix', 'home ~/home/file.nix', 'search <nixpkgs/nixos/modules>', 'outside ../up']),
    );
  });
});

describe('paths that only look like they leave the root', () => {
  it('resolves ./..dots.nix at the root as a file inside it, and ../x as outside', () => {
    const r = resolveFileImports(root, 'top.nix', '{ a = ./..dots.nix; b = ../x.nix; c = ./...nix; }');
    expect(r.dependencies.map((d) => d.path)).toEqual(['..dots.nix', '...nix']);
    expect(r.external).toEqual([{ kind: 'outside', text: '../x.nix', line: 1 }]);
  });
});

describe('importClosure', () => {
  const graph = buildImportGraph(root, files);

  it('reaches modules through default.nix, folders and their Nix files, but not unrelated files', () => {
    const c = importClosure(root, ['profiles/web/profile.nix'], (f) => graph.get(f));
    expect(c.files).toEqual([
      'data/banner.txt',
      'data/static/a.txt',
      'modules/dynamic/one.nix',
      'modules/dynamic/two.nix',
      'modules/plain.nix',
      'modules/services/db/config',
      'modules/services/db/default.nix',
      'modules/services/db/schema.sql',
      'modules/shared/default.nix',
      'modules/shared/users.nix',
      'modules/tool.nix',
      'profiles/web/profile.nix',
    ]);
    expect(c.folders).toEqual(['data/static', 'modules/dynamic', 'modules/services/db', 'modules/services/db/extras']);
    expect(c.files).not.toContain('nasty.nix');
  });

  it('terminates on cycles (a folder importing itself)', () => {
    const c = importClosure(root, ['modules/dynamic/two.nix'], (f) => graph.get(f));
    expect(c.files).toEqual(['modules/dynamic/one.nix', 'modules/dynamic/two.nix']);
  });
});
