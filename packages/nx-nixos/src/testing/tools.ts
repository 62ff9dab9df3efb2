import { spawnSync } from 'node:child_process';

/**
 * Guards tests that need an external tool (nix, qemu-system-x86_64, git, ...). With CI=true a missing
 * tool fails the run; locally the suite is skipped with a loud reason. Use as:
 *   const describeWithNix = describeIfTools(['nix']); describeWithNix('...', () => { ... });
 */
export function missingTools(tools: readonly string[]): string[] {
  return tools.filter((tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status !== 0);
}

export function describeIfTools(tools: readonly string[]): jest.Describe {
  const missing = missingTools(tools);
  if (missing.length === 0) return describe;
  const reason = `missing tool(s): ${missing.join(', ')}; install them (see .ci/run)`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    return ((name: string) =>
      describe(name, () => {
        it('has its tools', () => {
          throw new Error(`CI: ${reason}`);
        });
      })) as unknown as jest.Describe;
  }
  console.warn(`SKIPPING end-to-end tests: ${reason}`);
  return describe.skip;
}
