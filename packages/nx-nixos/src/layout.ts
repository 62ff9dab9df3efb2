import { join, posix } from 'node:path';

/**
 * Every path the plugin reads or writes, in one place. Paths are relative to the workspace root (for target
 * outputs and messages) unless a function takes the workspace root and says it is absolute.
 */

/**
 * The names a workspace chose in its plugin options that paths and messages use: the output folder, the
 * target and project names that hints tell people to run. One workspace per process (the graph, an executor,
 * a generator), so they are set once, by whoever read nx.json (useWorkspaceNames), and default to the
 * plugin's defaults.
 */
export interface WorkspaceNames {
  outputDir: string;
  buildImageTargetName: string;
  buildVmTargetName: string;
  doctorTargetName: string;
  repoProjectName: string;
}

export const DEFAULT_NAMES: Readonly<WorkspaceNames> = { outputDir: 'artifacts', buildImageTargetName: 'build-image', buildVmTargetName: 'build-vm', doctorTargetName: 'doctor', repoProjectName: 'repo' };

let names: WorkspaceNames = { ...DEFAULT_NAMES };

/** Sets the names of this process's workspace (from its resolved plugin options). */
export function useWorkspaceNames(options: WorkspaceNames): void {
  names = { outputDir: options.outputDir, buildImageTargetName: options.buildImageTargetName, buildVmTargetName: options.buildVmTargetName, doctorTargetName: options.doctorTargetName, repoProjectName: options.repoProjectName };
}

export const workspaceNames = (): Readonly<WorkspaceNames> => names;

/** Everything the plugin builds, logs and runs (plugin option outputDir); Git ignores it but for its README. */
export const outputDir = () => names.outputDir;
export const outputReadme = () => `${names.outputDir}/README.md`;

/** The command that builds a profile's image, as hints print it. */
export const buildImageCommand = (profile: string) => `npx nx run ${profile}:${names.buildImageTargetName}`;
/** The command that builds a profile's development VM, as hints print it. */
export const buildVmCommand = (profile: string) => `npx nx run ${profile}:${names.buildVmTargetName}`;
/** The command that checks this machine, as hints print it. */
export const doctorCommand = () => `npx nx run ${names.repoProjectName}:${names.doctorTargetName}`;

export const imageDir = (profile: string) => `${names.outputDir}/images/${profile}`;
/** The portable record of a built image. */
export const imageManifestFile = (profile: string) => `${imageDir(profile)}/manifest.json`;
/** The out-link beside the manifest: the image's GC root. */
export const imageOutLink = (profile: string) => `${imageDir(profile)}/result`;
/** The development VM of a profile (build-vm): its manifest and the out-link beside it, its GC root. */
export const devVmDir = (profile: string) => `${names.outputDir}/dev-vms/${profile}`;
export const devVmManifestFile = (profile: string) => `${devVmDir(profile)}/manifest.json`;
export const devVmOutLink = (profile: string) => `${devVmDir(profile)}/result`;
export const devVmBuildLogFile = (profile: string) => `${names.outputDir}/logs/${profile}/build-vm.log`;
export const buildLogFile = (profile: string) => `${names.outputDir}/logs/${profile}/build-image.log`;
/** The full log of a batch of one target (`--batch`): one `nix build` for the tasks of many projects. */
export const batchLogFile = (target: string) => `${names.outputDir}/logs/batch-${target}.log`;
/** JUnit report and logs of a project's VM tests. */
export const testReportDir = (project: string) => `${names.outputDir}/tests/${project}`;
/** The interactive test driver of one test: its out-link, build log and working folder (outside vm-test's cached outputs). */
export const interactiveDriverDir = (project: string, test: string) => `${names.outputDir}/drivers/${project}/${test}`;
/** One folder per VM instance: <vmsDir>/<profile>/<instance>. */
export const vmsDir = () => `${names.outputDir}/vms`;
export const instanceDir = (profile: string, instance: string) => `${vmsDir()}/${profile}/${instance}`;

/** A workspace-relative path of this module made absolute. */
export const inWorkspace = (workspaceRoot: string, path: string) => join(workspaceRoot, path);

/** The folder of a profile under the plugin option profilesDir (default "profiles"). */
export const profileDir = (profilesDir: string, name: string) => posix.join(profilesDir, name);
export const PROFILE_FILE = 'profile.json';
export const profileFile = (profileFolder: string) => `${profileFolder}/${PROFILE_FILE}`;

/** The JSON Schema of profile.json in this repository, and where an installed plugin keeps it. */
export const PROFILE_SCHEMA_PATH = 'packages/nx-nixos/schemas/profile.schema.json';
export const INSTALLED_PROFILE_SCHEMA_PATH = 'node_modules/@rave/nx-nixos/schemas/profile.schema.json';
