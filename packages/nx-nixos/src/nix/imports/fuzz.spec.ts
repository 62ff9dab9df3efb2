import { runWithinBudget } from '../../testing/within-budget';
import { ADVERSARIAL_SOURCES } from './fuzz-sources';

// Complexity, not speed: each source is about 1 MB and built against one rule of the lexer or the
// import graph. Linear work finishes in seconds; a quadratic tokenizer took 36 s on 160 KB. Each runs in
// a worker that is stopped at the budget, so a regression fails here rather than hanging.
const BUDGET_MS = 20_000;
// Loading the module in the worker has a budget of its own (within-budget.ts).
jest.setTimeout(3 * 60_000);

describe('the Nix import graph on adversarial sources of about 1 MB', () => {
  it.each(ADVERSARIAL_SOURCES.map(([name]) => name))('%s: finishes within the budget, without crashing', async (name) => {
    const result = await runWithinBudget(require.resolve('./fuzz-sources'), 'scanAdversarialSource', name, BUDGET_MS);
    expect(result).toEqual(expect.objectContaining({ value: expect.any(Number) }));
  });
});
