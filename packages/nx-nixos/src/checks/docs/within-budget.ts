import { Worker } from 'node:worker_threads';

export interface BudgetResult {
  /** What `fn` returned. */
  value?: unknown;
  ms?: number;
  /** Thrown, or the worker died (out of memory, stack overflow). */
  error?: string;
  timedOut?: boolean;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.register);
const started = performance.now();
Promise.resolve()
  .then(() => require(workerData.module)[workerData.fn](workerData.arg))
  .then(
    (value) => parentPort.postMessage({ value, ms: performance.now() - started }),
    (e) => parentPort.postMessage({ error: String((e && e.stack) || e) }),
  );
`;

/**
 * Runs `fn(arg)` (awaited when it returns a promise), exported by a TypeScript module, in a worker thread with the main thread's stack size
 * and a bounded heap, and stops it after `budgetMs`. A complexity test then fails at its budget instead of
 * hanging for as long as quadratic work takes, and a stack overflow or runaway memory is a failure too.
 */
export function runWithinBudget(module: string, fn: string, arg: unknown, budgetMs: number): Promise<BudgetResult> {
  const register = require.resolve('@swc-node/register', { paths: [__dirname] });
  return new Promise((resolve) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { register, module, fn, arg },
      resourceLimits: { stackSizeMb: 0.95, maxOldGenerationSizeMb: 2048 },
    });
    let settled = false;
    const settle = (result: BudgetResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ timedOut: true }), budgetMs);
    worker.on('message', (result: BudgetResult) => settle(result));
    worker.on('error', (e) => settle({ error: String(e.stack ?? e) }));
    worker.on('exit', (code) => settle({ error: `the worker exited with code ${code}` }));
  });
}
