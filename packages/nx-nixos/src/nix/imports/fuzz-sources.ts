import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NixImportIndex } from '../../plugin/nix-index';
import { resolveOptions } from '../../plugin/options';
import { importClosure, resolveFileImports } from './graph';
import { nixSourceReader } from './read';
import { scanPathLiterals } from './path-literals';

/**
 * Nix sources of about 1 MB, each built to hit one of the lexer's or the import graph's worst cases:
 * a lexer rule that reads a long run and then fails, deep nesting, a literal on every few bytes, one
 * enormous literal. The fuzz test runs each within a budget.
 */
export const SIZE = 1024 * 1024;

/** `unit` repeated to about SIZE characters, between `before` and `after`. */
const fill = (unit: string, before = '', after = '') => before + unit.repeat(Math.ceil(SIZE / unit.length)) + after;

/** Deterministic bytes from Nix's alphabet of delimiters (mulberry32), so a failure can be replayed. */
function soup(seed: number): string {
  const atoms = ['a', '.', '/', '~', '<', '>', ':', '${', '}', '{', '"', "''", '\\', '#', '\n', ' ', '0', '1', 'e', '+', '-', "'", '[', ']', '(', ')', '=', 'import', 'imports', '*', '/*', '*/', '//', '...'];
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < SIZE) {
    const atom = atoms[Math.floor(rand() * atoms.length)];
    parts.push(atom);
    length += atom.length;
  }
  return parts.join('');
}

export const ADVERSARIAL_SOURCES: Array<[string, () => string]> = [
  ['attribute paths that are never paths (a.a.a.)', () => fill('a.', '{ x = ')],
  ['one identifier of a megabyte', () => fill('a', '{ x = ')],
  ['identifier characters that are path characters (a-a-)', () => fill('a-')],
  ['a URI scheme that never gets its colon (a+a+)', () => fill('a+')],
  ['one URI of a megabyte', () => fill('a:a', 'x = ')],
  ['digits that are never a float', () => fill('1')],
  ['floats back to back', () => fill('1.5e')],
  ['dots and digits (.1.1)', () => fill('.1')],
  ['search paths never closed (<a/a/)', () => fill('a/', '<')],
  ['search paths back to back', () => fill('<a/b>')],
  ['home paths (~/a~/a)', () => fill('~/a')],
  ['a path of a megabyte', () => fill('a/', './')],
  ['interpolated paths nested in antiquotations', () => fill('./a/${')],
  ['open braces, brackets and parentheses', () => fill('{[(')],
  ['an imports list of 250,000 literals', () => fill('./a ', '{ imports = [ ', ' ]; }')],
  ['100,000 distinct literals', () => Array.from({ length: 100_000 }, (_, i) => `./m${i}.nix`).join(' ')],
  ['strings of escapes', () => fill('\\"', '"')],
  ["indented strings of ''$ and ${", () => fill("''$${", "''")],
  ['an unclosed comment', () => fill('/* ./a ', '')],
  ['comment lines', () => fill('# ./a\n')],
  ['random Nix delimiters (seed 1)', () => soup(1)],
  ['random Nix delimiters (seed 2)', () => soup(2)],
];

/**
 * One adversarial source through everything that reads Nix: the lexer and its path literals, the
 * resolver of the imports command, its closure, and the graph inference index (which caches and
 * saves). Returns the literal count.
 */
export function scanAdversarialSource(name: string): number {
  const make = ADVERSARIAL_SOURCES.find(([n]) => n === name)?.[1];
  if (!make) throw new Error(`no adversarial source "${name}"`);
  const root = mkdtempSync(join(tmpdir(), 'nix-fuzz-'));
  const previous = process.env.NX_WORKSPACE_DATA_DIRECTORY;
  process.env.NX_WORKSPACE_DATA_DIRECTORY = join(root, '.nx/workspace-data');
  try {
    const file = 'infra/nixos/lib/adversarial.nix';
    mkdirSync(join(root, 'infra/nixos/lib'), { recursive: true });
    const text = make();
    writeFileSync(join(root, file), text);
    const literals = scanPathLiterals(text).length;
    const read = nixSourceReader(root);
    const load = (f: string) => {
      const source = read(f);
      return source.text === undefined ? undefined : resolveFileImports(root, f, source.text);
    };
    importClosure(root, [file], load);
    const index = new NixImportIndex(root, resolveOptions({}), { now: Date.now() + 10_000 });
    index.load(file);
    index.save();
    return literals;
  } finally {
    if (previous === undefined) delete process.env.NX_WORKSPACE_DATA_DIRECTORY;
    else process.env.NX_WORKSPACE_DATA_DIRECTORY = previous;
    rmSync(root, { recursive: true, force: true });
  }
}

/** The files graph inference finds `entries` can read, with default options (for tests that run it in a worker). */
export function graphClosure({ root, entries }: { root: string; entries: string[] }): string[] {
  return new NixImportIndex(root, resolveOptions({})).closure(entries).files;
}
