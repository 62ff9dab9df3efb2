import { checkRef, commandLines, parseNxCommands } from './commands';

describe('parseNxCommands', () => {
  it.each([
    ['npx nx run development:build-image', [{ project: 'development', target: 'build-image' }]],
    ['NX_DAEMON=false npx nx run a:b:production --verbose', [{ project: 'a', target: 'b' }]],
    ['pnpm nx build-image demo', [{ project: 'demo', target: 'build-image' }]],
    ['nx demo:launch --detach', [{ project: 'demo', target: 'launch' }]],
    ['npx nx affected --targets=vm-test,build-image', [{ target: 'vm-test' }, { target: 'build-image' }]],
    ['npx nx affected -t vm-test build-image --base=main', [{ target: 'vm-test' }, { target: 'build-image' }]],
    ['npx nx run-many -t launch -p a,b', [{ project: 'a', target: 'launch' }, { project: 'b', target: 'launch' }]],
    ['npx nx run-many -t launch --projects "tag:type:profile"', [{ target: 'launch' }]],
    ['npx nx show project docs --json', [{ project: 'docs' }]],
    ['cd x && npx nx run a:b | tee log', [{ project: 'a', target: 'b' }]],
  ])('%s', (line, refs) => {
    expect(parseNxCommands(line).flatMap((c) => c.refs)).toEqual(refs);
  });

  it.each(['npx nx graph', 'npx nx show projects', 'npx nx reset', 'echo nx run a:b', 'nx.json', 'npx nx --version', 'npx nx-nixos docs-check docs'])(
    'ignores %s',
    (line) => {
      expect(parseNxCommands(line)).toEqual([]);
    },
  );
});

describe('checkRef', () => {
  const graph = { development: ['build-image', 'launch'], docs: ['docs-check'] };

  it('accepts what exists and placeholders', () => {
    for (const ref of [
      { project: 'development', target: 'launch' },
      { project: '<profile>', target: 'launch' },
      { project: '$PROFILE', target: 'build-image' },
      { project: 'PROFILE', target: 'launch' },
      { target: 'docs-check' },
      { project: 'docs' },
      { project: 'development', target: '<target>' },
    ])
      expect(checkRef(ref, graph)).toBeUndefined();
  });

  it('names what is missing and suggests the nearest name', () => {
    expect(checkRef({ project: 'developmnet', target: 'launch' }, graph)).toEqual({
      message: 'project "developmnet" does not exist in the project graph',
      fix: 'Did you mean "development"? Projects: development, docs.',
    });
    expect(checkRef({ project: '<profile>', target: 'lunch' }, graph)?.message).toBe('no project has a target "lunch"');
  });
});

describe('commandLines', () => {
  it('joins continuations, skips comments and other languages, keeps inline code', () => {
    const lines = commandLines([
      { kind: 'fence', lang: 'bash', content: '# comment\nnpx nx run a:b \\\n  --verbose\necho hi # nx run c:d\n', line: 10 },
      { kind: 'fence', lang: 'python', content: 'nx run e:f\n', line: 20 },
      { kind: 'inline', lang: '', content: 'nx run g:h', line: 30 },
    ]);
    expect(lines.map(({ text, line }) => [text.replace(/\s+/g, ' ').trim(), line])).toEqual([
      ['npx nx run a:b --verbose', 11],
      ['echo hi', 13],
      ['nx run g:h', 30],
    ]);
  });
});
