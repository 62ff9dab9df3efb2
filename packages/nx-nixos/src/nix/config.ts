import { runNix } from './command';

/** The effective Nix settings (`nix show-config --json`) with the given command-line options applied; {} when Nix cannot say. */
export async function nixConfig(args: readonly string[] = [], cwd?: string): Promise<Record<string, unknown>> {
  const result = await runNix('nix', ['show-config', '--json', ...args], { cwd });
  if (result.code !== 0) return {};
  try {
    const settings = JSON.parse(result.stdout) as Record<string, { value?: unknown }>;
    return Object.fromEntries(Object.entries(settings).map(([key, setting]) => [key, setting?.value]));
  } catch {
    return {};
  }
}
