import { join, posix } from 'node:path';

/**
 * Every path the plugin reads or writes, in one place. Paths are relative to the workspace root (for target
 * outputs and messages) unless a function takes the workspace root and says it is absolute.
 */

/** Everything the plugin builds, logs and runs; Git ignores it but for its README. */
export const ARTIFACTS_DIR = 'artifacts';
export const ARTIFACTS_README = `${ARTIFACTS_DIR}/README.md`;

export const imageDir = (profile: string) => `${ARTIFACTS_DIR}/images/${profile}`;
/** The portable record of a built image. */
export const imageManifestFile = (profile: string) => `${imageDir(profile)}/manifest.json`;
/** The out-link beside the manifest: the image's GC root. */
export const imageOutLink = (profile: string) => `${imageDir(profile)}/result`;
export const buildLogFile = (profile: string) => `${ARTIFACTS_DIR}/logs/${profile}/build-image.log`;
/** The full log of a batch of one target (`--batch`): one `nix build` for the tasks of many projects. */
export const batchLogFile = (target: string) => `${ARTIFACTS_DIR}/logs/batch-${target}.log`;
/** JUnit report and logs of a project's VM tests. */
export const testReportDir = (project: string) => `${ARTIFACTS_DIR}/tests/${project}`;
/** One folder per VM instance: <VMS_DIR>/<profile>/<instance>. */
export const VMS_DIR = `${ARTIFACTS_DIR}/vms`;
export const instanceDir = (profile: string, instance: string) => `${VMS_DIR}/${profile}/${instance}`;

/** A workspace-relative path of this module made absolute. */
export const inWorkspace = (workspaceRoot: string, path: string) => join(workspaceRoot, path);

/** The folder of a profile under the plugin option profilesDir (default "profiles"). */
export const profileDir = (profilesDir: string, name: string) => posix.join(profilesDir, name);
export const PROFILE_FILE = 'profile.json';
export const profileFile = (profileFolder: string) => `${profileFolder}/${PROFILE_FILE}`;

/** The JSON Schema of profile.json in this repository, and where an installed plugin keeps it. */
export const PROFILE_SCHEMA_PATH = 'packages/nx-nixos/schemas/profile.schema.json';
export const INSTALLED_PROFILE_SCHEMA_PATH = 'node_modules/@rave/nx-nixos/schemas/profile.schema.json';
