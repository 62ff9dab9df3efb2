import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic';
import { buildVmCommand, devVmBuildLogFile, devVmManifestFile, devVmOutLink, inWorkspace, profileFile } from '../layout';
import type { Profile } from '../profile/schema';
import { nixBuild, type NixBuildResult } from './build';
import { sharingArgs, type NixSharingOptions } from './copy';
import { isOutputOf, warnAboutUntrackedFiles } from './image';
import type { ProgressOutput } from './progress-render';
import { assertNixForFlake } from './requirements';
import { isValidStorePath } from './store';
import { probeNix } from './version';

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/, 'must be a /nix/store path');

/** The development VM manifest (layout.ts): the run script a build-vm produced, no workspace paths. */
export const devVmManifestSchema = z
  .object({
    manifestVersion: z.literal(1),
    profile: z.string(),
    installable: z.string().describe('Flake attribute path of the development VM.'),
    storePath,
    drvPath: storePath,
    runScript: z.string().regex(/^bin\/run-[^/]+-vm$/, 'must be bin/run-<name>-vm'),
    nixVersion: z.string(),
  })
  .strict();

export type DevVmManifest = z.infer<typeof devVmManifestSchema>;

/** The flake attribute of a profile's development VM: profile.json vm.attribute, else NixOS's system.build.vm. */
export const devVmInstallable = (profile: Profile) => profile.vm?.attribute ?? `nixosConfigurations.${profile.name}.config.system.build.vm`;

export interface DevVmBuildOptions {
  workspaceRoot: string;
  profile: Profile;
  /** Workspace-relative folder of the profile. */
  profileDir: string;
  flakeRef?: string;
  offline?: boolean;
  extraArgs?: readonly string[];
  verbose?: boolean;
  progress?: ProgressOutput;
  sharing?: NixSharingOptions;
  warn?: (message: string) => void;
}

/**
 * The run script of a development VM's build output: NixOS names it bin/run-<hostname>-vm. Exactly one, a
 * file inside the output (a symlink out of it is refused).
 */
export function findRunScript(out: string): { runScript?: string; problem?: string } {
  let names: string[];
  try {
    names = readdirSync(join(out, 'bin'));
  } catch {
    return { problem: `${out} has no bin/ folder` };
  }
  const scripts = names.filter((n) => /^run-.+-vm$/.test(n));
  if (scripts.length !== 1) return { problem: scripts.length ? `${out}/bin holds several run scripts (${scripts.join(', ')})` : `${out}/bin holds no run-<name>-vm script` };
  const file = join(out, 'bin', scripts[0]);
  const root = realpathSync(out);
  const real = realpathSync(file);
  // The run script itself may be a link into another store path (a wrapper); only a link out of the store is refused.
  if (!real.startsWith('/nix/store/') && !real.startsWith(`${root}/`)) return { problem: `${file} leads to ${real}, outside the Nix store` };
  if (!statSync(real).isFile()) return { problem: `${file} is not a file` };
  return { runScript: `bin/${scripts[0]}` };
}

/**
 * Builds the profile's development VM (no disk image: the system's store paths and a run script), keeps the
 * out-link as a GC root and writes the manifest atomically; a failed build leaves the previous manifest.
 */
export async function buildDevVm(options: DevVmBuildOptions): Promise<{ manifest: DevVmManifest; build: NixBuildResult }> {
  const { workspaceRoot, profile } = options;
  await assertNixForFlake(workspaceRoot, options.flakeRef);
  warnAboutUntrackedFiles(options);
  const installable = devVmInstallable(profile);
  const build = await nixBuild({
    cwd: workspaceRoot,
    installable: `${options.flakeRef ?? '.'}#${installable}`,
    outLink: inWorkspace(workspaceRoot, devVmOutLink(profile.name)),
    offline: options.offline,
    extraArgs: [...sharingArgs(options.sharing ?? {}), ...(options.extraArgs ?? [])],
    maxJobs: options.sharing?.maxJobs,
    logFile: inWorkspace(workspaceRoot, devVmBuildLogFile(profile.name)),
    verbose: options.verbose,
    progress: options.progress,
  });
  const out = build.outputs.out ?? Object.values(build.outputs)[0];
  const { runScript, problem } = findRunScript(out);
  if (!runScript)
    throw new Error(
      `The build of ${installable} succeeded but is not a development VM: ${problem}. ` +
        `Point vm.attribute in ${profileFile(options.profileDir)} at a NixOS config.system.build.vm (it holds bin/run-<name>-vm).`,
    );
  const manifest: DevVmManifest = { manifestVersion: 1, profile: profile.name, installable, storePath: out, drvPath: build.drvPath, runScript, nixVersion: (await probeNix()).text };
  writeFileAtomic(inWorkspace(workspaceRoot, devVmManifestFile(profile.name)), JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, build };
}

const rebuildHint = (profile: string) => `Rebuild it: ${buildVmCommand(profile)} --skip-nx-cache`;

export function readDevVmManifest(workspaceRoot: string, profile: string): DevVmManifest {
  const file = devVmManifestFile(profile);
  const path = inWorkspace(workspaceRoot, file);
  if (!existsSync(path)) throw new Error(`No development VM for profile "${profile}": ${file} does not exist. Build it first: ${buildVmCommand(profile)}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}). ${rebuildHint(profile)}`, { cause: e });
  }
  const result = devVmManifestSchema.safeParse(raw);
  if (!result.success) throw new Error(`${file} is invalid: ${result.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ')}. ${rebuildHint(profile)}`);
  return result.data;
}

/**
 * The development VM to run: the manifest's, checked against profile.json and the local store (it may come
 * from a shared Nx cache); rebuilt when its store path is missing here or the manifest is out of date.
 */
export async function ensureDevVm(options: DevVmBuildOptions & { log?: (line: string) => void }): Promise<{ manifest: DevVmManifest; rebuilt: boolean }> {
  const { workspaceRoot, profile } = options;
  const log = options.log ?? (() => undefined);
  const manifest = readDevVmManifest(workspaceRoot, profile.name);
  const file = devVmManifestFile(profile.name);
  if (manifest.profile !== profile.name) throw new Error(`${file} describes the development VM of profile "${manifest.profile}", not "${profile.name}". ${rebuildHint(profile.name)}`);
  let why: string | undefined;
  if (manifest.installable !== devVmInstallable(profile)) why = `${profileFile(options.profileDir)} now names ${devVmInstallable(profile)}, the manifest ${manifest.installable}`;
  else if (!(await isValidStorePath(manifest.storePath))) why = `${manifest.storePath} is not in the local store`;
  if (why === undefined) {
    if ((await isOutputOf(manifest.storePath, manifest.drvPath)) !== true)
      throw new Error(`${file}: storePath ${manifest.storePath} is not an output of drvPath ${manifest.drvPath}, so it is not this profile's development VM. Nothing was started. ${rebuildHint(profile.name)}`);
    if (findRunScript(manifest.storePath).runScript !== manifest.runScript) throw new Error(`${file}: ${manifest.storePath} holds no ${manifest.runScript}. Nothing was started. ${rebuildHint(profile.name)}`);
    return { manifest, rebuilt: false };
  }
  log(`Rebuilding the development VM: ${why}.`);
  return { manifest: (await buildDevVm(options)).manifest, rebuilt: true };
}
