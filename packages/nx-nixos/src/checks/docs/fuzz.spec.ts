import { ADVERSARIAL_PAGES, checkPage } from './fuzz-pages';
import { runWithinBudget } from '../../testing/within-budget';

// Complexity, not speed: each page is about 1 MB and built against one scanner. Linear work finishes in
// seconds; quadratic work on 1 MB takes minutes or overflows the stack. Each runs in a worker that is
// stopped at the budget, so a regression fails here rather than hanging.
const BUDGET_MS = 20_000;
// Loading the module in the worker has a budget of its own (within-budget.ts).
jest.setTimeout(3 * 60_000);

describe('docs-check on adversarial pages of about 1 MB', () => {
  it.each(ADVERSARIAL_PAGES.map(([name]) => name))('%s: finishes within the budget, without crashing', async (name) => {
    const result = await runWithinBudget(require.resolve('./fuzz-pages'), 'checkAdversarialPage', name, BUDGET_MS);
    expect(result).toEqual(expect.objectContaining({ value: expect.any(Number) }));
  });

  it('quotes a long command in a message only in part', () => {
    const command = `npx nx run development:${'x'.repeat(5000)}`;
    const { findings } = checkPage(`# T\n\n\`\`\`sh\n${command}\n\`\`\`\n`);
    const stale = findings.find((f) => f.rule === 'docs/stale-command')!;
    expect(stale.subject).toBe(command.slice('npx '.length));
    expect(stale.message.length).toBeLessThan(600);
  });

  it('reports at most ten problems of one command, then how many more', () => {
    const targets = Array.from({ length: 30 }, (_, i) => `missing-${i}`).join(',');
    const { findings } = checkPage(`# T\n\n\`\`\`sh\nnpx nx run-many -t ${targets} -p development\n\`\`\`\n`);
    const stale = findings.filter((f) => f.rule === 'docs/stale-command');
    expect(stale).toHaveLength(11);
    expect(stale[10].message).toContain('20 more project or target names');
  });
});
