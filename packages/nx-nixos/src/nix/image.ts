import { existsSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isGitRepository, untrackedFiles } from '../git/git';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic';
import type { Profile } from '../profile/schema';
import { nixBuild, type NixBuildResult } from './build';
import { pushToCache, sharingArgs, type NixSharingOptions, type PushResult } from './copy';
import type { ProgressOutput } from './progress-render';
import { isValidStorePath } from './store';
import { assertNixForFlake, checkSystemFeatures, MissingSystemFeaturesError, nixSettings } from './requirements';
import { probeNix } from './version';

export const imageDir = (workspaceRoot: string, profile: string) => join(workspaceRoot, 'artifacts', 'images', profile);
export const manifestPath = (workspaceRoot: string, profile: string) => join(imageDir(workspaceRoot, profile), 'manifest.json');
export const outLinkPath = (workspaceRoot: string, profile: string) => join(imageDir(workspaceRoot, profile), 'result');
export const buildLogPath = (workspaceRoot: string, profile: string) => join(workspaceRoot, 'artifacts', 'logs', profile, 'build-image.log');

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, 'must be a /nix/store path');

/** artifacts/images/<profile>/manifest.json: a small, portable record of a built image (no workspace paths). */
export const imageManifestSchema = z
  .object({
    manifestVersion: z.literal(1),
    profile: z.string(),
    installable: z.string().describe('Flake output attribute path, e.g. packages.x86_64-linux.development.'),
    storePath,
    drvPath: storePath,
    image: z.union([
      z.object({ kind: z.literal('disk'), format: z.enum(['qcow2', 'raw']), file: z.string() }),
      z.object({ kind: z.literal('kernel'), kernel: z.string(), initrd: z.string(), cmdline: z.string() }),
    ]),
    sizeBytes: z.number().int().nonnegative(),
    nixVersion: z.string(),
  })
  .strict();

export type ImageManifest = z.infer<typeof imageManifestSchema>;

export class ManifestMissingError extends Error {
  constructor(profile: string) {
    super(`No image for profile "${profile}": artifacts/images/${profile}/manifest.json does not exist. Build it first: npx nx run ${profile}:build-image`);
    this.name = 'ManifestMissingError';
  }
}

export function readImageManifest(workspaceRoot: string, profile: string): ImageManifest {
  const file = manifestPath(workspaceRoot, profile);
  if (!existsSync(file)) throw new ManifestMissingError(profile);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`artifacts/images/${profile}/manifest.json is not valid JSON (${(e as Error).message}). Rebuild it: npx nx run ${profile}:build-image --skip-nx-cache`);
  }
  const result = imageManifestSchema.safeParse(raw);
  if (!result.success)
    throw new Error(
      `artifacts/images/${profile}/manifest.json is invalid: ${result.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}. Rebuild it: npx nx run ${profile}:build-image --skip-nx-cache`,
    );
  return result.data;
}

/** The files of an image inside its store path. */
export function imageFiles(manifest: Pick<ImageManifest, 'storePath' | 'image'>): string[] {
  const { image } = manifest;
  const files = image.kind === 'disk' ? [image.file] : [image.kernel, image.initrd];
  return files.map((f) => join(manifest.storePath, f));
}

export interface ImageBuildOptions {
  workspaceRoot: string;
  profile: Profile;
  /** Flake reference relative to the workspace root. Default ".". */
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: readonly string[];
  verbose?: boolean;
  progress?: ProgressOutput;
  /** Where warnings go; console.warn by default. */
  warn?: (message: string) => void;
  /** Workspace-relative folder of the profile; default profiles/<name>. */
  profileDir?: string;
  /** Binary caches to substitute from and remote builders. */
  sharing?: NixSharingOptions;
  /** Opt-in: sign and copy the image to this binary cache after a successful build. */
  push?: { to: string; signingKeyFile?: string };
}

const buildArgs = (options: ImageBuildOptions) => [...sharingArgs(options.sharing ?? {}), ...(options.extraArgs ?? [])];

export const installableFor = (profile: Profile) => `packages.${profile.system}.${profile.flake.attribute}`;

/**
 * Builds the profile image, keeps the out-link as a GC root and writes the manifest atomically. The old
 * manifest is removed first, so a failed build never leaves one behind.
 */
export async function buildImage(options: ImageBuildOptions): Promise<{ manifest: ImageManifest; build: NixBuildResult; push?: PushResult }> {
  const { workspaceRoot, profile } = options;
  await assertBuildableHere(options);
  rmSync(manifestPath(workspaceRoot, profile.name), { force: true });
  warnAboutUntrackedFiles(options);
  const installable = installableFor(profile);
  const build = await nixBuild({
    cwd: workspaceRoot,
    installable: `${options.flakeRef ?? '.'}#${installable}`,
    outLink: outLinkPath(workspaceRoot, profile.name),
    offline: options.offline,
    extraArgs: buildArgs(options),
    logFile: buildLogPath(workspaceRoot, profile.name),
    verbose: options.verbose,
    progress: options.progress,
  });
  const out = build.outputs.out ?? Object.values(build.outputs)[0];
  const image: ImageManifest['image'] =
    profile.image.kind === 'disk'
      ? { kind: 'disk', format: profile.image.format, file: profile.image.file }
      : { kind: 'kernel', kernel: profile.image.kernel, initrd: profile.image.initrd, cmdline: profile.image.cmdline };
  const partial = { storePath: out, image };
  const missing = imageFiles(partial).filter((f) => !existsSync(f));
  if (missing.length)
    throw new Error(
      `The build of ${installable} succeeded but its output ${out} lacks ${missing.map((m) => m.slice(out.length + 1)).join(', ')}. ` +
        `Fix "image" in profiles/${profile.name}/profile.json to name files the build produces.`,
    );
  const manifest: ImageManifest = {
    manifestVersion: 1,
    profile: profile.name,
    installable,
    storePath: out,
    drvPath: build.drvPath,
    image,
    sizeBytes: imageFiles(partial).reduce((sum, f) => sum + statSync(f).size, 0),
    nixVersion: (await probeNix()).text,
  };
  writeFileAtomic(manifestPath(workspaceRoot, profile.name), JSON.stringify(manifest, null, 2) + '\n');
  if (!options.push) return { manifest, build };
  const push = await pushToCache({ cwd: workspaceRoot, paths: [out], ...options.push });
  if (!push.ok) (options.warn ?? console.warn)(`warning: the image was built but not pushed to ${options.push.to}: ${push.reason}`);
  return { manifest, build, push };
}

/**
 * Before anything is evaluated or built: the installed Nix is new enough for the flake's pinned nixpkgs, and
 * this machine or a configured builder offers the system features the image build needs (kvm for nixpkgs'
 * disk images).
 */
export async function assertBuildableHere(options: Pick<ImageBuildOptions, 'workspaceRoot' | 'profile' | 'flakeRef' | 'sharing' | 'profileDir'>): Promise<void> {
  const { workspaceRoot, profile } = options;
  await assertNixForFlake(workspaceRoot, options.flakeRef);
  const required = profile.image.requiredSystemFeatures;
  if (!required.length) return;
  const check = checkSystemFeatures(required, profile.system, await nixSettings(options.sharing), options.sharing);
  if (!check.ok)
    throw new MissingSystemFeaturesError(
      `The image of profile "${profile.name}" (image.requiredSystemFeatures in ${options.profileDir ?? `profiles/${profile.name}`}/profile.json)`,
      required,
      check,
    );
}

/** Flakes in a Git repository see only tracked files: an untracked profile file is silently left out. */
function warnAboutUntrackedFiles(options: ImageBuildOptions): void {
  const { workspaceRoot, profile } = options;
  if ((options.flakeRef ?? '.') !== '.' || !isGitRepository(workspaceRoot)) return;
  const untracked = untrackedFiles(workspaceRoot, [options.profileDir ?? `profiles/${profile.name}`, 'flake.nix', 'flake.lock']);
  if (untracked.length)
    (options.warn ?? console.warn)(
      `warning: Git does not track ${untracked.join(', ')}, so the flake does not see ${untracked.length === 1 ? 'it' : 'them'}. Run: git add ${untracked.join(' ')}`,
    );
}

export type ImageAvailability = 'present' | 'substituted' | 'rebuilt';

export interface EnsuredImage {
  manifest: ImageManifest;
  storePath: string;
  how: ImageAvailability;
}

/**
 * Makes the manifest's image available in the local store: present already, substituted from a binary
 * cache, or rebuilt (which rewrites the manifest). A manifest restored from a remote Nx cache works here.
 */
export async function ensureImage(options: ImageBuildOptions & { log?: (line: string) => void }): Promise<EnsuredImage> {
  const { workspaceRoot, profile } = options;
  const log = options.log ?? (() => undefined);
  const manifest = readImageManifest(workspaceRoot, profile.name);
  const link = outLinkPath(workspaceRoot, profile.name);
  if (await isValidStorePath(manifest.storePath)) {
    if (!isLinkTo(link, manifest.storePath)) await realise(options, manifest.storePath, link);
    return { manifest, storePath: manifest.storePath, how: 'present' };
  }
  if (!options.offline) {
    log(`Image ${manifest.storePath} is not in the local store; trying the configured binary caches.`);
    try {
      await realise(options, manifest.storePath, link);
      log(`Substituted ${manifest.storePath} from a binary cache.`);
      return { manifest, storePath: manifest.storePath, how: 'substituted' };
    } catch (e) {
      log(`No configured binary cache could provide it: ${substitutionFailure(e as Error, options.sharing)}`);
    }
  }
  log(`Rebuilding ${installableFor(profile)}.`);
  const rebuilt = await buildImage(options);
  return { manifest: rebuilt.manifest, storePath: rebuilt.manifest.storePath, how: 'rebuilt' };
}

function isLinkTo(link: string, target: string): boolean {
  try {
    return readlinkSync(link) === target;
  } catch {
    return false;
  }
}

async function realise(options: ImageBuildOptions, path: string, outLink: string): Promise<void> {
  await nixBuild({ cwd: options.workspaceRoot, installable: path, outLink, offline: options.offline, extraArgs: buildArgs(options) });
}

/** One line saying why substitution failed: no cache configured, unreachable, untrusted signature, or absent. */
export function substitutionFailure(error: Error, sharing: NixSharingOptions | undefined): string {
  const text = error.message;
  if (!sharing?.substituters?.length)
    return 'no substituters option is set (option "substituters" of build-image, vm-test or launch), so only the Nix configuration\'s caches were asked.';
  if (/lacks a valid signature|no signature is trusted|not signed by any of the keys/i.test(text))
    return `the cache has the path but no signature on it matches trustedPublicKeys (${(sharing?.trustedPublicKeys ?? []).map((k) => k.split(':')[0]).join(', ') || 'none set'}). Set trustedPublicKeys to the public key of the key that signed it.`;
  if (/unable to download|Couldn't connect|Connection refused|Could not resolve|resolve host|unreachable|timed out/i.test(text))
    return `the cache ${(sharing?.substituters ?? []).join(', ')} could not be reached. Check that it is running and the URL is right.`;
  return `no cache has it (${text.split('\n').slice(1, 3).join(' ').trim() || text.split('\n')[0]}).`;
}
