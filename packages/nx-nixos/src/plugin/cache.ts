import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic';

/**
 * A small JSON cache for graph inference, kept under Nx's workspace data folder. Keys are content
 * hashes that include the options and the plugin's code identity (pluginCacheKey), so stale entries are
 * never read. The file is read on the first lookup only.
 */
export class InferenceCache<T> {
  private entries: Record<string, T> | undefined;
  private dirty = false;
  private readonly file: string;

  constructor(workspaceRoot: string, name: string) {
    const dataDir =
      process.env.NX_WORKSPACE_DATA_DIRECTORY ??
      process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY ??
      join(workspaceRoot, '.nx', 'workspace-data');
    this.file = join(dataDir.startsWith('/') ? dataDir : join(workspaceRoot, dataDir), `${name}.json`);
  }

  private static read<T>(file: string): Record<string, T> {
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, T>;
    } catch {
      return {}; // a corrupt cache is only a miss
    }
  }

  private get all(): Record<string, T> {
    return (this.entries ??= InferenceCache.read<T>(this.file));
  }

  get(key: string): T | undefined {
    return this.all[key];
  }

  set(key: string, value: T): void {
    this.all[key] = value;
    this.dirty = true;
  }

  /** Writes the entries used in this run only, so the file does not grow without bound. */
  save(usedKeys: Iterable<string>): void {
    const entries = this.all;
    const kept: Record<string, T> = {};
    let count = 0;
    for (const key of usedKeys) {
      if (key in entries && !(key in kept)) {
        kept[key] = entries[key];
        count++;
      }
    }
    if (!this.dirty && count === Object.keys(entries).length) return;
    writeFileAtomic(this.file, JSON.stringify(kept));
    this.entries = kept;
    this.dirty = false;
  }
}

export function hashKey(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

let pluginKey: string | undefined;
/**
 * The plugin's version and code identity (load.js: the content hash of the compiled sources, or of the
 * TypeScript sources' names, sizes and times while they are edited). Every cache key starts with it.
 */
export function pluginCacheKey(): string {
  if (pluginKey === undefined) {
    /* eslint-disable @typescript-eslint/no-require-imports -- load.js is untyped JavaScript; both are read only when a key is first needed */
    const { version } = require('../../package.json') as { version: string };
    const { codeHash } = require('../../load.js') as { codeHash: () => string };
    /* eslint-enable @typescript-eslint/no-require-imports */
    pluginKey = `${version}+${codeHash()}`;
  }
  return pluginKey;
}
