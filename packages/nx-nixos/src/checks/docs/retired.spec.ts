import { matchRetired, retiredCommands } from './retired';

describe('retiredCommands (docs-check option)', () => {
  it('compiles entries and fills $1 from the match, or groupDefault when the group did not match', () => {
    const [entry] = retiredCommands([{ pattern: String.raw`\bold\s+build\b(?:\s+--profile=(\w+))?`, replacement: 'npx nx run $1:build', groupDefault: '<profile>' }]);
    expect(entry.autofix).toBe(true);
    expect(matchRetired(entry, '$ old build --profile=demo && ls')).toEqual({ match: 'old build --profile=demo', replacement: 'npx nx run demo:build' });
    expect(matchRetired(entry, 'old build')).toEqual({ match: 'old build', replacement: 'npx nx run <profile>:build' });
    expect(matchRetired(entry, 'bold build')).toBeUndefined();
  });

  it('defaults to no retired commands', () => {
    expect(retiredCommands(undefined)).toEqual([]);
  });

  it.each([
    [{}, /"docsCheck\.retiredCommands" .* expected a list/],
    [[null], /"docsCheck\.retiredCommands\[0\]" .* expected an object/],
    [[{ pattern: 'a', replacement: 'b', hint: 'c' }], /"docsCheck\.retiredCommands\[0\]" .* unknown key "hint"/],
    [[{ pattern: '', replacement: 'b' }], /"docsCheck\.retiredCommands\[0\]\.pattern" .* expected a non-empty RE2/],
    [[{ pattern: 'a', replacement: 'b' }, { pattern: '(a', replacement: 'b' }], /"docsCheck\.retiredCommands\[1\]\.pattern" .* not an RE2 regular expression \(missing closing \)/],
    [[{ pattern: String.raw`(?=a)`, replacement: 'b' }], /\[0\]\.pattern" .* not an RE2/],
    [[{ pattern: 'a', replacement: 3 }], /\[0\]\.replacement" .* expected the command/],
    [[{ pattern: 'a', replacement: 'b', autofix: 'no' }], /\[0\]\.autofix" .* expected true or false/],
  ])('rejects %j naming nx.json, the option, the reason and the fix', (value, message) => {
    expect(() => retiredCommands(value)).toThrow(message);
    expect(() => retiredCommands(value)).toThrow(/^nx\.json: .* Write it as \[/);
  });

  it('runs a pattern that backtracks exponentially on V8 in linear time', () => {
    const [entry] = retiredCommands([{ pattern: '(a+)+$', replacement: 'x' }]);
    const started = Date.now();
    expect(matchRetired(entry, `${'a'.repeat(50_000)}!`)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
