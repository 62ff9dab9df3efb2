import { compileGlob, glob } from './glob';

describe('compileGlob', () => {
  it.each([
    ['infra/**/*.nix', 'infra/a.nix', true],
    ['infra/**/*.nix', 'infra/x/y/z.nix', true],
    ['infra/**/*.nix', 'infra/x/y/z.nixx', false],
    ['infra/*.nix', 'infra/x/y.nix', false],
    ['infra/**', 'infra/x/y', true],
    ['**/test/fixtures/**', 'packages/a/test/fixtures/docs/README.md', true],
    ['**/test/fixtures/**', 'test/fixtures/x', true],
    ['docs/?.md', 'docs/a.md', true],
    ['docs/?.md', 'docs/ab.md', false],
    ['docs/?.md', 'docs//.md', false],
    ['infra/**/{a,b}.nix', 'infra/x/y/b.nix', true],
    ['infra/**/{a,b}.nix', 'infra/x/y/c.nix', false],
    ['{infra,lib/{x,y}}/*.nix', 'lib/y/m.nix', true],
    ['{infra,lib/{x,y}}/*.nix', 'lib/z/m.nix', false],
    ['a.b', 'axb', false],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(compileGlob(pattern).test(path)).toBe(expected);
  });

  it('reads braces as themselves when asked to', () => {
    expect(compileGlob('docs/{a,b}.md', { braces: false }).test('docs/{a,b}.md')).toBe(true);
    expect(compileGlob('docs/{a,b}.md', { braces: false }).test('docs/a.md')).toBe(false);
  });

  it('takes time linear in the path for any glob: no backtracking on nested stars', () => {
    const path = `${'a/'.repeat(2000)}b`;
    const started = performance.now();
    expect(glob(`${'**/'.repeat(40)}x`).test(path)).toBe(false);
    expect(glob(`${'*a'.repeat(40)}x`).test('a'.repeat(4000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
