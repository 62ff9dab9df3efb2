import { assertUncached } from './executor';

describe('assertUncached', () => {
  it('lets an interactive run through only on a target Nx does not cache', () => {
    for (const target of [{ cache: false }, {}]) expect(() => assertUncached({ projectName: 'dev', targetName: 'vm-test-interactive', target })).not.toThrow();
    expect(() => assertUncached({ projectName: 'dev', targetName: 'vm-test', target: { cache: true } })).toThrow(
        '--interactive runs a terminal session, which Nx must not cache, and dev:vm-test is a cached target. Run: npx nx run dev:vm-test-interactive',
      );
  });
});
