import { runNix } from './command';

/** True when the path is a valid path in the local Nix store. */
export async function isValidStorePath(storePath: string): Promise<boolean> {
  const result = await runNix('nix-store', ['--check-validity', storePath]);
  return result.code === 0;
}
