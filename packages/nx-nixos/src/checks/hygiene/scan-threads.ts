import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { createFileChecker, emptyResult, type FileScanContext, type FileScanResult, type FileState } from './scan-files';

export interface ThreadTuning {
  /** Below this many files per thread a worker costs more to start than it saves. */
  minFilesPerThread?: number;
  /** Files per unit of work that a thread takes at a time. */
  chunkFiles?: number;
  /** False: this thread only waits, the workers check every file (tests of the worker path). */
  mainThreadChecks?: boolean;
}

const DEFAULT_TUNING: Required<ThreadTuning> = { minFilesPerThread: 4000, chunkFiles: 256, mainThreadChecks: true };

export interface WorkerData {
  ctx: FileScanContext;
  /** The files, NUL-separated (one string crosses to a worker far faster than an array of 100,000). */
  files: string;
  states: Uint8Array;
  /** Int32 [next chunk to take, workers finished]. */
  shared: SharedArrayBuffer;
  chunkFiles: number;
  port: MessagePort;
}

type ChunkResults = Array<[number, FileScanResult]>;

/** Takes chunks until none is left; every thread runs this over the same shared counter. */
export function checkChunks({ ctx, files, states, shared, chunkFiles }: Omit<WorkerData, 'port'>): ChunkResults {
  const list = files.split('\0');
  const check = createFileChecker(ctx);
  const counter = new Int32Array(shared);
  const chunks = Math.ceil(states.length / chunkFiles);
  const results: ChunkResults = [];
  for (let c = Atomics.add(counter, 0, 1); c < chunks; c = Atomics.add(counter, 0, 1)) {
    const out = emptyResult();
    for (let i = c * chunkFiles; i < Math.min((c + 1) * chunkFiles, states.length); i++) check(list[i], states[i] as FileState, out);
    results.push([c, out]);
  }
  return results;
}

// Runs the worker module with the loader this module was loaded with (TypeScript sources go through swc),
// and always answers and counts itself finished, so the waiting thread never waits for a worker that died.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
try {
  if (workerData.register) require(workerData.register);
  require(workerData.module);
} catch (e) {
  workerData.port.postMessage({ error: String((e && e.stack) || e) });
} finally {
  const counter = new Int32Array(workerData.shared);
  Atomics.add(counter, 1, 1);
  Atomics.notify(counter, 1);
}
`;

function workerCount(files: number, { minFilesPerThread, mainThreadChecks }: Required<ThreadTuning>): number {
  const threads = Math.max(1, Math.min(availableParallelism(), Math.floor(files / minFilesPerThread)));
  return mainThreadChecks ? threads - 1 : threads;
}

/**
 * Checks the files on every core: this thread and (cores - 1) workers take chunks from one shared
 * counter, so a slow start or a large file on one thread does not hold the others. Results come back
 * in file order, whichever thread checked them. Synchronous: this thread waits with Atomics.wait.
 */
export function checkFiles(ctx: FileScanContext, files: string[], states: Uint8Array, tuning: ThreadTuning = {}): FileScanResult {
  const tune = { ...DEFAULT_TUNING, ...tuning };
  const { chunkFiles } = tune;
  const shared = new SharedArrayBuffer(8);
  const counter = new Int32Array(shared);
  const joined = files.join('\0');
  const ports: MessagePort[] = [];
  const ext = extname(__filename);
  const module = join(__dirname, `scan-worker${ext}`);
  const register = ext === '.ts' ? require.resolve('@swc-node/register') : undefined;
  for (let i = 0; i < workerCount(files.length, tune); i++) {
    const { port1, port2 } = new MessageChannel();
    const data: WorkerData & { module: string; register?: string } = { ctx, files: joined, states, shared, chunkFiles, port: port2, module, register };
    new Worker(BOOTSTRAP, { eval: true, workerData: data, transferList: [port2] }).unref();
    ports.push(port1);
  }
  const results: ChunkResults = tune.mainThreadChecks ? checkChunks({ ctx, files: joined, states, shared, chunkFiles }) : [];
  for (let done = Atomics.load(counter, 1); done < ports.length; done = Atomics.load(counter, 1)) Atomics.wait(counter, 1, done);
  for (const port of ports) {
    const answer = receiveMessageOnPort(port)?.message as { chunks?: ChunkResults; error?: string } | undefined;
    port.close();
    if (!answer?.chunks) throw new Error(`hygiene: a worker thread failed: ${answer?.error ?? 'it gave no answer'}`);
    for (const chunk of answer.chunks) results.push(chunk);
  }
  results.sort((a, b) => a[0] - b[0]);
  const merged = emptyResult();
  for (const [, r] of results) {
    for (const finding of r.findings) merged.findings.push(finding);
    merged.textFiles += r.textFiles;
    for (const file of r.missing) merged.missing.push(file);
    for (const skipped of r.skipped) merged.skipped.push(skipped);
  }
  return merged;
}
