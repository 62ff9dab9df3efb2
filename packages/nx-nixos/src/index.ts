import { createNodesV2 } from './plugin/create-nodes';
import { createDependencies } from './plugin/nix-dependencies';

export type { NixosPluginOptions } from './plugin/options';
export type { Profile } from './profile/schema';

export const name = '@rave/nx-nixos';
export { createNodesV2, createDependencies };
/** Nx 22 reads the batched API under either name. */
export const createNodes = createNodesV2;
