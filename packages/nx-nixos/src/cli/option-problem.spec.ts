import { docsCheckOptionsSchema } from '../checks/docs/options';
import { optionProblem } from './option-problem';

describe('optionProblem', () => {
  it('accepts options that fit', () => {
    expect(optionProblem(docsCheckOptionsSchema, { format: 'json', moved: { 'a.md': 'b.md' }, retiredCommands: [{ pattern: 'a', replacement: 'b' }] }, 'docsCheck')).toBeUndefined();
  });

  it.each([
    [{ format: 'xml' }, 'docsCheck.format', 'expected one of "text", "json", "sarif", "github", got "xml"'],
    [{ fix: 'yes' }, 'docsCheck.fix', 'expected a boolean, got "yes"'],
    [{ exclude: 'a' }, 'docsCheck.exclude', 'expected a list, got "a"'],
    [{ moved: { 'a.md': 3 } }, 'docsCheck.moved.a.md', 'expected a string, got 3'],
    [{ retiredCommands: [{ pattern: 'a' }] }, 'docsCheck.retiredCommands[0]', '"replacement" is missing'],
    [{ retiredCommands: [{ pattern: 'a', replacement: 'b', fix: 1 }] }, 'docsCheck.retiredCommands[0].fix', 'unknown option'],
    [{ stubMaxWord: 3 }, 'docsCheck.stubMaxWord', expect.stringMatching(/^unknown option \(known: docsDir, format, /)],
  ])('names the wrong part of %j and why', (value, path, reason) => {
    expect(optionProblem(docsCheckOptionsSchema, value, 'docsCheck')).toEqual({ path, reason });
  });
});
