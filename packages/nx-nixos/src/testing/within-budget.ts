import { Worker } from 'node:worker_threads';

export interface BudgetResult {
  /** What the call returned. */
  value?: unknown;
  ms?: number;
  /** Thrown ("Class: message" and the stack), or the worker died (out of memory, stack overflow). */
  error?: string;
  timedOut?: boolean;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.register);
const fn = require(workerData.module)[workerData.fn];
(async () => {
  for (let i = 0; i < workerData.argLists.length; i++) {
    parentPort.postMessage({ start: i });
    const started = performance.now();
    try {
      const value = await fn(...workerData.argLists[i]);
      parentPort.postMessage({ done: i, value, ms: performance.now() - started });
    } catch (e) {
      const error = e instanceof Error ? e.constructor.name + ': ' + e.message + '\\n' + e.stack : String(e);
      parentPort.postMessage({ done: i, error, ms: performance.now() - started });
    }
  }
})();
`;

/** Loading (compiling) the module is not the work under test and takes long on a busy machine: it has a budget of its own. */
const LOAD_BUDGET_MS = 120_000;

/**
 * Calls `fn(...args)` (awaited when it returns a promise), exported by a TypeScript module, once per argument list
 * in turn, in one worker thread with the main thread's stack size and a bounded heap; each call has `budgetMs`
 * from its start. A complexity test then fails at its budget instead of hanging for as long as quadratic work
 * takes, and a stack overflow or runaway memory is a failure too. After a call that timed out or killed the
 * worker, the calls left get that same result.
 */
export function runAllWithinBudget(module: string, fn: string, argLists: unknown[][], budgetMs: number): Promise<BudgetResult[]> {
  const register = require.resolve('@swc-node/register', { paths: [__dirname] });
  return new Promise((resolve) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { register, module, fn, argLists },
      resourceLimits: { stackSizeMb: 0.95, maxOldGenerationSizeMb: 2048 },
    });
    const results: BudgetResult[] = [];
    let settled = false;
    const finish = (last?: BudgetResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      while (last && results.length < argLists.length) results.push(last);
      resolve(results);
    };
    let timer = setTimeout(() => finish({ error: `loading ${module} took over ${LOAD_BUDGET_MS} ms` }), LOAD_BUDGET_MS);
    worker.on('message', (m: BudgetResult & { start?: number; done?: number }) => {
      clearTimeout(timer);
      if (m.start !== undefined) {
        timer = setTimeout(() => finish({ timedOut: true }), budgetMs);
        return;
      }
      results.push({ value: m.value, ms: m.ms, error: m.error });
      if (results.length === argLists.length) finish();
    });
    worker.on('error', (e) => finish({ error: String(e.stack ?? e) }));
    worker.on('exit', (code) => finish({ error: `the worker exited with code ${code}` }));
  });
}

/** `runAllWithinBudget` for one call of `fn(arg)`. */
export async function runWithinBudget(module: string, fn: string, arg: unknown, budgetMs: number): Promise<BudgetResult> {
  return (await runAllWithinBudget(module, fn, [[arg]], budgetMs))[0];
}
