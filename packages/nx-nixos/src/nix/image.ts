import { existsSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isGitRepository, untrackedFiles } from '../git/git';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic';
import type { Profile } from '../profile/schema';
import { nixBuildBatch } from './batch';
import { nixBuild, type NixBuildResult } from './build';
import type { NixBuildMonitor } from './progress';
import { runNix } from './command';
import { pushToCache, sharingArgs, type NixSharingOptions, type PushResult } from './copy';
import type { ProgressOutput } from './progress-render';
import { isValidStorePath } from './store';
import { assertNixForFlake, checkSystemFeatures, MissingSystemFeaturesError, nixSettings } from './requirements';
import { probeNix } from './version';
import { buildImageCommand, buildLogFile, imageManifestFile, imageOutLink, inWorkspace, profileFile } from '../layout';

export const manifestPath = (workspaceRoot: string, profile: string) => inWorkspace(workspaceRoot, imageManifestFile(profile));
export const outLinkPath = (workspaceRoot: string, profile: string) => inWorkspace(workspaceRoot, imageOutLink(profile));

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, 'must be a /nix/store path');
/** A file of the image: QEMU reads it, so it must not lead out of the store path. */
const fileInside = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a relative path inside storePath (no leading "/", no "..")');

/** The image manifest (layout.ts): a small, portable record of a built image (no workspace paths). */
export const imageManifestSchema = z
  .object({
    manifestVersion: z.literal(1),
    profile: z.string(),
    installable: z.string().describe('Flake output attribute path, e.g. packages.x86_64-linux.development.'),
    storePath,
    drvPath: storePath,
    image: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('disk'), format: z.enum(['qcow2', 'raw']), file: fileInside }),
      z.object({ kind: z.literal('kernel'), kernel: fileInside, initrd: fileInside, cmdline: z.string() }),
    ]),
    sizeBytes: z.number().int().nonnegative(),
    nixVersion: z.string(),
  })
  .strict();

export type ImageManifest = z.infer<typeof imageManifestSchema>;

export class ManifestMissingError extends Error {
  constructor(profile: string) {
    super(`No image for profile "${profile}": ${imageManifestFile(profile)} does not exist. Build it first: ${buildImageCommand(profile)}`);
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
    throw new Error(`${imageManifestFile(profile)} is not valid JSON (${(e as Error).message}). Rebuild it: ${buildImageCommand(profile)} --skip-nx-cache`, { cause: e });
  }
  const result = imageManifestSchema.safeParse(raw);
  if (!result.success)
    throw new Error(
      `${imageManifestFile(profile)} is invalid: ${result.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}. Rebuild it: ${buildImageCommand(profile)} --skip-nx-cache`,
    );
  return result.data;
}

/** The files of an image inside its store path. */
export function imageFiles(manifest: Pick<ImageManifest, 'storePath' | 'image'>): string[] {
  return namedFiles(manifest.image).map(([, f]) => join(manifest.storePath, f));
}

const namedFiles = (image: ImageManifest['image']): [string, string][] =>
  image.kind === 'disk' ? [['file', image.file]] : [['kernel', image.kernel], ['initrd', image.initrd]];

/** What is wrong with the files an image names: missing, not a file, or (through a symlink) outside its store path. */
export function imageFileProblems(manifest: Pick<ImageManifest, 'storePath' | 'image'>): string[] {
  const root = realpathSync(manifest.storePath);
  return namedFiles(manifest.image).flatMap(([field, file]) => {
    let real: string;
    try {
      real = realpathSync(join(manifest.storePath, file));
    } catch {
      return [`image.${field}: ${file} does not exist in ${manifest.storePath}`];
    }
    if (!real.startsWith(`${root}/`)) return [`image.${field}: ${file} leads to ${real}, outside ${manifest.storePath}`];
    if (!statSync(real).isFile()) return [`image.${field}: ${file} is not a file`];
    return [];
  });
}

const rebuildHint = (profile: string) => `Rebuild the image: ${buildImageCommand(profile)} --skip-nx-cache`;

/** The image fields of the manifest that differ from profile.json (edited since the image was built). */
export function outdatedImageFields(manifest: ImageManifest, profile: Profile): string[] {
  const wanted: Record<string, unknown> = { installable: installableFor(profile), 'image.kind': profile.image.kind };
  const actual: Record<string, unknown> = { installable: manifest.installable, 'image.kind': manifest.image.kind };
  if (profile.image.kind === manifest.image.kind) {
    const pick = (image: Record<string, unknown>, prefix: string, into: Record<string, unknown>) => {
      for (const key of profile.image.kind === 'disk' ? ['format', 'file'] : ['kernel', 'initrd', 'cmdline']) into[`${prefix}${key}`] = image[key];
    };
    pick(profile.image, 'image.', wanted);
    pick(manifest.image, 'image.', actual);
  }
  return Object.keys(wanted)
    .filter((k) => wanted[k] !== actual[k])
    .map((k) => `${k} is ${JSON.stringify(actual[k])} in the manifest, ${JSON.stringify(wanted[k])} now`);
}

/** Which derivation built a store path, as the store records it: its outputs, or the path's deriver. */
export async function isOutputOf(path: string, drvPath: string): Promise<boolean | undefined> {
  const outputs = await runNix('nix-store', ['--query', '--outputs', drvPath]);
  if (outputs.code === 0) return outputs.stdout.split('\n').includes(path);
  const deriver = await runNix('nix-store', ['--query', '--deriver', path]);
  const recorded = deriver.stdout.trim();
  return deriver.code === 0 && recorded !== 'unknown-deriver' ? recorded === drvPath : undefined;
}

/** The manifest is this profile's and describes the image profile.json asks for now. */
export function assertManifestIsCurrent(manifest: ImageManifest, profile: Profile, profileDir: string): void {
  if (manifest.profile !== profile.name)
    throw new Error(`${imageManifestFile(profile.name)} describes the image of profile "${manifest.profile}", not "${profile.name}". ${rebuildHint(profile.name)}`);
  const outdated = outdatedImageFields(manifest, profile);
  if (outdated.length)
    throw new Error(`The image of ${profile.name} is out of date: ${profileFile(profileDir)} changed since it was built (${outdated.join('; ')}). ${rebuildHint(profile.name)}`);
}

/**
 * Checks a manifest (which may come from a shared Nx cache) against the local store before anything boots it
 * or points a GC root at it: its storePath is the output of its drvPath, and every file it names lies inside
 * that store path.
 */
export async function verifyManifestInStore(manifest: ImageManifest): Promise<void> {
  const file = imageManifestFile(manifest.profile);
  const built = await isOutputOf(manifest.storePath, manifest.drvPath);
  if (built !== true)
    throw new Error(
      `${file}: storePath ${manifest.storePath} ${built === false ? 'is not an output of' : 'cannot be traced by the Nix store to'} drvPath ${manifest.drvPath} ` +
        `(the derivation of ${manifest.installable}), so it is not this profile's image. Nothing was booted and the image's GC root was left as it was. ${rebuildHint(manifest.profile)}`,
    );
  const problems = imageFileProblems(manifest);
  if (problems.length) throw new Error(`${file}: ${problems.join('; ')}. Nothing was booted. ${rebuildHint(manifest.profile)}`);
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
  /** Workspace-relative folder of the profile (its project root, under the plugin option profilesDir). */
  profileDir: string;
  /** Binary caches to substitute from and remote builders. */
  sharing?: NixSharingOptions;
  /** Opt-in: sign and copy the image to this binary cache after a successful build. */
  push?: { to: string; signingKeyFile?: string };
}

const buildArgs = (options: Pick<ImageBuildOptions, 'sharing' | 'extraArgs'>) => [...sharingArgs(options.sharing ?? {}), ...(options.extraArgs ?? [])];

export const installableFor = (profile: Profile) => `packages.${profile.system}.${profile.flake.attribute}`;

/**
 * Builds the profile image, keeps the out-link as a GC root and writes the manifest atomically. The old
 * manifest stays until the new one replaces it: an interrupted or failed build leaves the previous image,
 * still built and rooted, and never a manifest of a path that was not built.
 */
export async function buildImage(options: ImageBuildOptions): Promise<{ manifest: ImageManifest; build: NixBuildResult; push?: PushResult }> {
  const { workspaceRoot, profile } = options;
  await assertBuildableHere(options);
  warnAboutUntrackedFiles(options);
  const installable = installableFor(profile);
  const build = await nixBuild({
    cwd: workspaceRoot,
    installable: `${options.flakeRef ?? '.'}#${installable}`,
    outLink: outLinkPath(workspaceRoot, profile.name),
    offline: options.offline,
    extraArgs: buildArgs(options),
    maxJobs: options.sharing?.maxJobs,
    logFile: inWorkspace(workspaceRoot, buildLogFile(profile.name)),
    verbose: options.verbose,
    progress: options.progress,
  });
  const manifest = await writeManifest(options, build.drvPath, build.outputs);
  if (!options.push) return { manifest, build };
  const push = await pushToCache({ cwd: workspaceRoot, paths: [manifest.storePath], ...options.push });
  if (!push.ok) (options.warn ?? console.warn)(`warning: the image was built but not pushed to ${options.push.to}: ${push.reason}`);
  return { manifest, build, push };
}

/** Checks that the build output holds the image profile.json names, and writes its manifest atomically. */
async function writeManifest(options: Pick<ImageBuildOptions, 'workspaceRoot' | 'profile' | 'profileDir'>, drvPath: string, outputs: Record<string, string>): Promise<ImageManifest> {
  const { workspaceRoot, profile } = options;
  const installable = installableFor(profile);
  const out = outputs.out ?? Object.values(outputs)[0];
  const image: ImageManifest['image'] =
    profile.image.kind === 'disk'
      ? { kind: 'disk', format: profile.image.format, file: profile.image.file }
      : { kind: 'kernel', kernel: profile.image.kernel, initrd: profile.image.initrd, cmdline: profile.image.cmdline };
  const partial = { storePath: out, image };
  const problems = imageFileProblems(partial);
  if (problems.length)
    throw new Error(
      `The build of ${installable} succeeded but its output does not hold the image: ${problems.join('; ')}. ` +
        `Fix "image" in ${profileFile(options.profileDir)} to name files the build produces.`,
    );
  const manifest: ImageManifest = {
    manifestVersion: 1,
    profile: profile.name,
    installable,
    storePath: out,
    drvPath,
    image,
    sizeBytes: imageFiles(partial).reduce((sum, f) => sum + statSync(f).size, 0),
    nixVersion: (await probeNix()).text,
  };
  writeFileAtomic(manifestPath(workspaceRoot, profile.name), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** One image of a batch: a profile and where its messages go. */
export interface BatchImage {
  key: string;
  profile: Profile;
  profileDir: string;
  flakeRef?: string;
  warn?: (message: string) => void;
}

export type BatchImageOutcome = { ok: true; manifest: ImageManifest; built: number } | { ok: false; error: Error };

/**
 * Builds the images of many profiles with one evaluation and one `nix build` (nixBuildBatch) and writes each
 * one's manifest and out-link. A profile that fails (checks, evaluation, build) fails alone; the others'
 * manifests are written.
 */
export async function buildImages(
  images: readonly BatchImage[],
  options: Omit<ImageBuildOptions, 'profile' | 'profileDir' | 'flakeRef' | 'warn' | 'push'> & { logFile: string },
): Promise<{ outcomes: Map<string, BatchImageOutcome>; monitor?: NixBuildMonitor }> {
  const { workspaceRoot } = options;
  const outcomes = new Map<string, BatchImageOutcome>();
  const ready: BatchImage[] = [];
  for (const image of images) {
    const single = { ...options, ...image };
    try {
      await assertBuildableHere(single);
      warnAboutUntrackedFiles(single);
      ready.push(image);
    } catch (e) {
      outcomes.set(image.key, { ok: false, error: e as Error });
    }
  }
  const batch = await nixBuildBatch({
    cwd: workspaceRoot,
    items: ready.map((image) => ({
      key: image.key,
      flakeRef: image.flakeRef ?? '.',
      attrPath: installableFor(image.profile),
      outLink: outLinkPath(workspaceRoot, image.profile.name),
    })),
    offline: options.offline,
    extraArgs: buildArgs(options),
    maxJobs: options.sharing?.maxJobs,
    logFile: options.logFile,
    verbose: options.verbose,
    progress: options.progress,
  });
  for (const image of ready) {
    const outcome = batch.outcomes.get(image.key);
    if (!outcome || !outcome.ok) {
      outcomes.set(image.key, { ok: false, error: outcome?.error ?? new Error(`${image.profile.name}: no result from the batch build`) });
      continue;
    }
    try {
      const manifest = await writeManifest({ workspaceRoot, profile: image.profile, profileDir: image.profileDir }, outcome.drvPath, outcome.outputs);
      outcomes.set(image.key, { ok: true, manifest, built: outcome.built });
    } catch (e) {
      outcomes.set(image.key, { ok: false, error: e as Error });
    }
  }
  return { outcomes, monitor: batch.monitor };
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
      `The image of profile "${profile.name}" (image.requiredSystemFeatures in ${profileFile(options.profileDir)})`,
      required,
      check,
    );
}

/** Flakes in a Git repository see only tracked files: an untracked profile file is silently left out. */
export function warnAboutUntrackedFiles(options: Pick<ImageBuildOptions, 'workspaceRoot' | 'flakeRef' | 'profileDir' | 'warn'>): void {
  const { workspaceRoot } = options;
  if ((options.flakeRef ?? '.') !== '.' || !isGitRepository(workspaceRoot)) return;
  const untracked = untrackedFiles(workspaceRoot, [options.profileDir, 'flake.nix', 'flake.lock']);
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

/** "Image substituted: /nix/store/…": how launch and vm-test report where the image came from. */
export const imageAvailabilityLine = (image: Pick<EnsuredImage, 'how' | 'storePath'>) => `Image ${image.how}: ${image.storePath}`;

/**
 * Makes the manifest's image available in the local store: present already, substituted from a binary
 * cache, or rebuilt (which rewrites the manifest). A manifest restored from a remote Nx cache works here.
 */
export async function ensureImage(options: ImageBuildOptions & { log?: (line: string) => void }): Promise<EnsuredImage> {
  const { workspaceRoot, profile } = options;
  const log = options.log ?? (() => undefined);
  const manifest = readImageManifest(workspaceRoot, profile.name);
  const link = outLinkPath(workspaceRoot, profile.name);
  // Verified before the GC root is touched: pointing it at a wrong path would let the real image be collected.
  assertManifestIsCurrent(manifest, profile, options.profileDir);
  const useIt = async (how: ImageAvailability): Promise<EnsuredImage> => {
    await verifyManifestInStore(manifest);
    if (!isLinkTo(link, manifest.storePath)) await realise(options, manifest.storePath, link);
    return { manifest, storePath: manifest.storePath, how };
  };
  if (await isValidStorePath(manifest.storePath)) return useIt('present');
  if (!options.offline) {
    log(`Image ${manifest.storePath} is not in the local store; trying the configured binary caches.`);
    let substituted = false;
    try {
      await realise(options, manifest.storePath);
      substituted = true;
    } catch (e) {
      log(`No configured binary cache could provide it: ${substitutionFailure(e as Error, options.sharing)}`);
    }
    if (substituted) return useIt('substituted');
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

async function realise(options: ImageBuildOptions, path: string, outLink?: string): Promise<void> {
  await nixBuild({ cwd: options.workspaceRoot, installable: path, outLink, offline: options.offline, extraArgs: buildArgs(options), maxJobs: options.sharing?.maxJobs });
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
