import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic';

/**
 * A small JSON cache for graph inference, kept under Nx's workspace data folder. Keys are content
 * hashes that include the options and the plugin version, so stale entries are never read.
 */
export class InferenceCache<T> {
  private entries: Record<string, T>;
  private dirty = false;
  private readonly file: string;

  constructor(workspaceRoot: string, name: string) {
    const dataDir =
      process.env.NX_WORKSPACE_DATA_DIRECTORY ??
      process.env.NX_PROJECT_GRAPH_CACHE_DIRECTORY ??
      join(workspaceRoot, '.nx', 'workspace-data');
    this.file = join(dataDir.startsWith('/') ? dataDir : join(workspaceRoot, dataDir), `${name}.json`);
    this.entries = InferenceCache.read<T>(this.file);
  }

  private static read<T>(file: string): Record<string, T> {
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, T>;
    } catch {
      return {}; // a corrupt cache is only a miss
    }
  }

  get(key: string): T | undefined {
    return this.entries[key];
  }

  set(key: string, value: T): void {
    this.entries[key] = value;
    this.dirty = true;
  }

  /** Writes the entries used in this run only, so the file does not grow without bound. */
  save(usedKeys: Iterable<string>): void {
    const kept: Record<string, T> = {};
    for (const key of usedKeys) if (key in this.entries) kept[key] = this.entries[key];
    if (!this.dirty && Object.keys(kept).length === Object.keys(this.entries).length) return;
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
