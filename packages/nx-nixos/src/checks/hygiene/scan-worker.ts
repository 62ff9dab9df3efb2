import { workerData } from 'node:worker_threads';
import { checkChunks, type WorkerData } from './scan-threads';

// Loaded by the bootstrap in scan-threads.ts, which reports a failure here as the worker's answer.
const data = workerData as WorkerData;
data.port.postMessage({ chunks: checkChunks(data) });
