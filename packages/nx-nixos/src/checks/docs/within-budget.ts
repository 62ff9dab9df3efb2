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
const loaded = require(workerData.module);
parentPort.postMessage({ ready: true });
const started = performance.now();
Promise.resolve()
  .then(() => loaded[workerData.fn](workerData.arg))
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
const LOAD_BUDGET_MS = 120_000;

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
    // The budget counts from when the module is loaded: compiling it is not the work under test, and
    // takes long on a busy machine. Loading gets a budget of its own.
    let timer = setTimeout(() => settle({ error: `loading ${module} took over ${LOAD_BUDGET_MS} ms` }), LOAD_BUDGET_MS);
    worker.on('message', (result: BudgetResult & { ready?: boolean }) => {
      if (!result.ready) return settle(result);
      clearTimeout(timer);
      timer = setTimeout(() => settle({ timedOut: true }), budgetMs);
    });
    worker.on('error', (e) => settle({ error: String(e.stack ?? e) }));
    worker.on('exit', (code) => settle({ error: `the worker exited with code ${code}` }));
  });
}
