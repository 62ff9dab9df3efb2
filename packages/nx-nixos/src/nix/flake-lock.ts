import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { readWorkspaceFile } from '../fs/read-inside';

/** One locked input of flake.lock (the fields the plugin uses). */
export interface LockedInput {
  /** The input's name in the root flake, e.g. "nixpkgs". */
  name: string;
  type: string;
  owner?: string;
  repo?: string;
  rev?: string;
  narHash?: string;
  lastModified?: number;
}

const lockedSchema = z.object({
  type: z.string(),
  owner: z.string().optional(),
  repo: z.string().optional(),
  rev: z.string().optional(),
  narHash: z.string().optional(),
  lastModified: z.number().optional(),
});

const lockSchema = z.object({
  version: z.number(),
  root: z.string(),
  nodes: z.record(
    z.string(),
    z.object({
      inputs: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
      locked: lockedSchema.optional(),
    }),
  ),
});

/**
 * The direct inputs of the flake in `flakeDir` as flake.lock pins them; undefined when there is no flake.lock.
 * Inputs that follow another input ("follows") are left out: they are pinned where they point.
 */
export function readLockedInputs(workspaceRoot: string, flakeDir = '.'): LockedInput[] | undefined {
  const file = join(flakeDir, 'flake.lock');
  const text = readWorkspaceFile(workspaceRoot, file, { missing: 'undefined' });
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON. Restore it from Git (git checkout -- ${file}) or run \`nix flake lock\`.`);
  }
  const parsed = lockSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`${file} is not a flake lock file: ${parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}.`);
  const lock = parsed.data;
  const root = lock.nodes[lock.root];
  return Object.entries(root?.inputs ?? {}).flatMap(([name, ref]) => {
    const locked = typeof ref === 'string' ? lock.nodes[ref]?.locked : undefined;
    return locked ? [{ name, ...locked }] : [];
  });
}

/** "NixOS/nixpkgs at 1a2b3c4" style description of a pinned input. */
export function describeInput(input: LockedInput): string {
  const where = input.owner && input.repo ? `${input.owner}/${input.repo}` : input.type;
  return `${input.name} (${where}${input.rev ? ` at ${input.rev}` : ''}, pinned in flake.lock)`;
}

/** The locked input a download URL fetches, recognised by its revision (GitHub tarballs, git fetches). */
export function inputForUrl(inputs: readonly LockedInput[], url: string): LockedInput | undefined {
  return inputs.find((i) => i.rev && url.includes(i.rev));
}

const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

function nixBase32(bytes: Uint8Array): string {
  const length = Math.ceil((bytes.length * 8) / 5);
  let out = '';
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const c = (bytes[i] >> j) | (i + 1 < bytes.length ? bytes[i + 1] << (8 - j) : 0);
    out += NIX_BASE32[c & 0x1f];
  }
  return out;
}

/**
 * The store path Nix unpacks a locked flake input to: a fixed-output, recursively hashed path named
 * "source" (Nix's makeFixedOutputPath), computed from the input's narHash without running Nix.
 */
export function sourceStorePath(narHash: string, storeDir = '/nix/store'): string | undefined {
  const sri = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(narHash);
  if (!sri) return undefined;
  const hex = Buffer.from(sri[1], 'base64').toString('hex');
  const inner = createHash('sha256').update(`source:sha256:${hex}:${storeDir}:source`).digest();
  const compressed = new Uint8Array(20);
  inner.forEach((byte, i) => (compressed[i % 20] ^= byte));
  return `${storeDir}/${nixBase32(compressed)}-source`;
}
