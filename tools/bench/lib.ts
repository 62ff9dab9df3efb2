import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { TestWorkspace } from '../../packages/nx-nixos/src/testing/workspace';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function timeMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Writes tools/bench/results/<name>.json with the machine it ran on. */
export function writeResults(name: string, results: Record<string, unknown>): string {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const body = { benchmark: name, date: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version }, ...results };
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  console.log(JSON.stringify(body, null, 2));
  return file;
}

/** Runs nx in a test workspace; its stdout, or an error with everything it printed. */
export function nxOrThrow(ws: TestWorkspace, args: string[]): string {
  const result = ws.nx(args);
  if (result.code !== 0) throw new Error(`nx ${args.join(' ')} failed:\n${result.output}`);
  return result.stdout;
}
