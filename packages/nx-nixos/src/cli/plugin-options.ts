import { join } from 'node:path';
import { readInsideWorkspace } from '../checks/hygiene/fs-errors';
import { parseJsonQuietly } from '../report/json-syntax';

/**
 * The options of the @rave/nx-nixos entry in nx.json, when there is one (read as a regular file inside the repository);
 * `executorKey` (e.g. "hygiene") must be an object of that executor's options when set.
 */
export function pluginOptions(root: string, executorKey: string): Record<string, unknown> {
  const text = readInsideWorkspace(root, 'nx.json', 16 * 1024 * 1024);
  if (text === undefined) return {};
  const file = join(root, 'nx.json');
  const nx = parseJsonQuietly(text, file) as { plugins?: unknown[] } | null;
  if (nx === null || typeof nx !== 'object' || (nx.plugins !== undefined && !Array.isArray(nx.plugins))) throw new Error(`${file}: expected an object whose "plugins" is a list.`);
  for (const entry of nx.plugins ?? []) {
    if (entry && typeof entry === 'object' && (entry as { plugin?: string }).plugin === '@rave/nx-nixos') {
      const options = (entry as { options?: Record<string, unknown> }).options ?? {};
      const executor = options[executorKey];
      if (executor !== undefined && (typeof executor !== 'object' || executor === null || Array.isArray(executor)))
        throw new Error(`${file}: plugins[@rave/nx-nixos].options.${executorKey} must be an object of ${executorKey} options.`);
      return options;
    }
  }
  return {};
}
