import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import picomatch from 'picomatch';
import { compileGlob, escapeGlob, glob, globBase, GlobError, globProblem, isGlob } from './glob';

describe('compileGlob', () => {
  it.each([
    ['infra/**/*.nix', 'infra/a.nix', true],
    ['infra/**/*.nix', 'infra/x/y/z.nix', true],
    ['infra/**/*.nix', 'infra/x/y/z.nixx', false],
    ['infra/*.nix', 'infra/x/y.nix', false],
    ['infra/**', 'infra/x/y', true],
    ['**/test/fixtures/**', 'packages/a/test/fixtures/docs/README.md', true],
    ['**/test/fixtures/**', 'test/fixtures/x', true],
    ['**/__fixtures__/**', 'a/__fixtures__/.hidden/x', true],
    ['docs/?.md', 'docs/a.md', true],
    ['docs/?.md', 'docs/ab.md', false],
    ['docs/?.md', 'docs//.md', false],
    ['infra/**/{a,b}.nix', 'infra/x/y/b.nix', true],
    ['infra/**/{a,b}.nix', 'infra/x/y/c.nix', false],
    ['{infra,lib/{x,y}}/*.nix', 'lib/y/m.nix', true],
    ['{infra,lib/{x,y}}/*.nix', 'lib/z/m.nix', false],
    ['a.b', 'axb', false],
    // A comma outside braces is a comma.
    ['docs/a,b.md', 'docs/a,b.md', true],
    ['docs/a,b.md', 'docs/a.md', false],
    ['docs/[ab].md', 'docs/b.md', true],
    ['docs/[^ab].md', 'docs/b.md', false],
    ['docs/+(a|b).md', 'docs/abba.md', true],
    ['docs/@(a|b).md', 'docs/ab.md', false],
    // `**` is special only as a whole segment; elsewhere it is `*`.
    ['**.nix', 'a/b.nix', false],
    ['**.nix', 'b.nix', true],
    ['*', '.hidden', true],
    ['**', 'a/.b/c', true],
    // Names may hold line breaks (Git lists them).
    ['**/secret', 'a\nb/secret', true],
    ['*', 'a\nb', true],
  ])('%j matches %j: %s', (pattern, path, expected) => {
    expect(compileGlob(pattern).test(path)).toBe(expected);
  });

  it.each([
    ['', /"" is empty/],
    ['!docs/**', /"!docs\/\*\*" starts with "!" \(negation\), which is not supported/],
    ['docs/!(x).md', /uses "!\(\.\.\.\)" \(match anything but\), which is not supported/],
    ['infra/{a,b', /"infra\/\{a,b" is not a glob \(missing closing \)\): is a "\{", "\(" or "\[" left open\?/],
    ['{', /^"\{" is not a glob/],
  ])('refuses %j with the reason', (pattern, message) => {
    expect(() => compileGlob(pattern)).toThrow(GlobError);
    expect(() => compileGlob(pattern)).toThrow(message);
    expect(globProblem(pattern)).toMatch(message);
  });

  it('compiles each glob once', () => {
    expect(glob('a/**')).toBe(glob('a/**'));
    expect(globProblem('a/**')).toBeUndefined();
  });
});

/** Deterministic pseudo-random numbers, so that a failure can be replayed. */
function prng(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((seed / 2 ** 31) * n);
  };
}

describe('the dialect is picomatch', () => {
  // picomatch itself, with the options of glob.ts: the reference the RE2 translation must agree with.
  const reference = (pattern: string) => picomatch(pattern, { dot: true, windows: false, fastpaths: false });
  const random = prng(15);
  const pick = <T>(items: readonly T[]) => items[random(items.length)];
  const GLOB_PARTS = ['a', 'b', '.', '-', ',', '/', '*', '**', '**/', '/**', '?', '{a,b}', '{,a}', '{a,{b,.}}', '[ab]', '[^a]', '[.]', '@(a|b)', '+(a|.)', '*(b)', '?(a)', '.*', '*.', '{1..3}', '1', '(a|b)'];
  const SEGMENTS = ['a', 'b', 'ab', 'ba', 'a.b', '.a', '..a', 'a.', 'a..', '-', 'a,b', '1', '2', 'aab', 'x', '...', '.b.'];
  const randomGlob = () => Array.from({ length: 1 + random(6) }, () => pick(GLOB_PARTS)).join('');
  const randomPath = () => Array.from({ length: 1 + random(4) }, () => pick(SEGMENTS)).join('/');

  it('agrees with picomatch on normalised paths (no empty, "." or ".." segment), for generated globs', () => {
    const paths = Array.from({ length: 150 }, randomPath);
    const disagreements: string[] = [];
    let compared = 0;
    for (let i = 0; i < 1500; i++) {
      const pattern = randomGlob();
      let ours;
      try {
        ours = compileGlob(pattern);
      } catch (e) {
        if (!(e instanceof GlobError)) throw e;
        continue;
      }
      const theirs = reference(pattern);
      compared++;
      for (const path of paths) if (ours.test(path) !== theirs(path)) disagreements.push(`${pattern} on ${path}: ours ${ours.test(path)}, picomatch ${theirs(path)}`);
    }
    expect(compared).toBeGreaterThan(1000);
    expect(disagreements.slice(0, 20)).toEqual([]);
  });

  it('escapeGlob makes a glob of a path that matches it and nothing else', () => {
    const CHARS = ['a', 'b', '.', '*', '?', '[', ']', '{', '}', '(', ')', '!', '@', '+', '|', ',', '^', '$', '\\', '-', ' ', '/'];
    for (let i = 0; i < 500; i++) {
      const path = randomPath() + '/' + Array.from({ length: 1 + random(8) }, () => pick(CHARS.slice(0, -1))).join('');
      const escaped = compileGlob(escapeGlob(path));
      expect([path, escaped.test(path)]).toEqual([path, true]);
      expect([path, escaped.test(randomPath())]).toEqual([path, false]);
      expect([path, escaped.test(path.replace(/[^/]$/, 'z'))]).toEqual([path, path.endsWith('z')]);
    }
  });

  it.each([
    ['infra/**/*.nix', 'infra', true],
    ['{infra,lib}/*.nix', '', true],
    ['**/x', '', true],
    ['a/*/b/**', 'a', true],
    ['config/{a,b}.yaml', 'config', true],
    ['a/b[1].nix', 'a', true],
    ['a/b.nix', 'a', false],
    ['flake.nix', '', false],
  ])('%j has the base %j (a glob: %s)', (pattern, base, wild) => {
    expect(globBase(pattern)).toBe(base);
    expect(isGlob(pattern)).toBe(wild);
  });
});

/** Runs compileGlob(pattern).test(path) in a worker stopped at `budgetMs`: resolves with the answer, rejects past the budget. */
function boundedMatch(pattern: string, path: string, budgetMs: number): Promise<boolean> {
  const code = `
const { workerData, parentPort } = require('node:worker_threads');
require(workerData.register);
const { compileGlob } = require(workerData.module);
parentPort.postMessage(compileGlob(workerData.pattern).test(workerData.path));
`;
  const worker = new Worker(code, { eval: true, workerData: { register: require.resolve('@swc-node/register'), module: join(__dirname, 'glob.ts'), pattern, path } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`${pattern.slice(0, 40)}… did not finish within ${budgetMs} ms`));
    }, budgetMs);
    worker.once('message', (answer: boolean) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(answer);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('linear time for any glob from the repository', () => {
  jest.setTimeout(5 * 60_000);
  const BUDGET_MS = 20_000;
  const longName = 'a'.repeat(100_000);
  const deepPath = `${'a/'.repeat(20_000)}b`;

  it.each([
    // Stars in a segment, globstars with stars, and braces of stars take minutes on V8's backtracking engine
    // (picomatch's own regular expression), even on a path of a few hundred characters.
    ['stars in one segment', `**/${'*a'.repeat(40)}b`, longName, false],
    ['globstars', `${'**/'.repeat(40)}x`, deepPath, false],
    ['globstars and stars', `${'**/*a*/'.repeat(20)}x`, deepPath, false],
    ['extglob repetition', `+(a|aa)+(a|aa)+(a|aa)b`, longName, false],
    ['braces of stars', `{*a,a*}{*a,a*}{*a,a*}{*a,a*}b`, longName, false],
    ['a long glob', `${'{a,*}'.repeat(2000)}b`, longName, false],
  ])('%s: completes within the budget', async (_, pattern, path, expected) => {
    await expect(boundedMatch(pattern, path, BUDGET_MS)).resolves.toBe(expected);
  });
});
