import { dirname, posix } from 'node:path';
import { glob } from '../glob/glob';
import type { ResolvedPluginOptions } from './options';

/** The project root of a Nix module file, or undefined when no module glob matches it. */
export function nixModuleRoot(file: string, options: ResolvedPluginOptions): string | undefined {
  return options.nixModuleGlobs.some((g) => glob(g).test(file)) ? dirname(file) : undefined;
}

/** `infra/nixos/modules/services/gitlab` -> `nix-modules-services-gitlab` (relative to nixModulesBase). */
export function nixModuleProjectName(root: string, options: ResolvedPluginOptions): string {
  const rel = posix.relative(options.nixModulesBase, root);
  const parts = rel && rel !== '..' && !rel.startsWith('../') ? rel : root;
  return ['nix', ...parts.split('/').filter((p) => p && p !== '.')].join('-');
}
