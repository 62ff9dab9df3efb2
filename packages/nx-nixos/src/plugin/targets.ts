import type { ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import type { Profile } from '../profile/schema';
import { indexStateInput, profilePathspecs, workspaceGlobs } from '../checks/hygiene/scope';
import { DEFAULT_OPTIONS, LAUNCH_SHARING_KEYS, type ResolvedPluginOptions } from './options';
import { devVmManifestFile, imageManifestFile, testReportDir } from '../layout';

const EXECUTOR_PREFIX = '@rave/nx-nixos';
/**
 * Every target says whether it is continuous. Without it Nx reads the executor's schema while computing
 * the graph, and for a plugin that is a workspace package that loads TypeScript (~0.5 s per command).
 */
const TASK = { continuous: false } as const;
/** Runtime input: a change of Nix version invalidates cached builds. Never fails, so hashing never does. */
const NIX_VERSION_INPUT = { runtime: 'nix --version 2>/dev/null || echo nix-missing' };


/** `closure`: the files the profile's evaluation can read, from the static Nix import graph (nix-inputs.ts). */
function nixInputs(options: ResolvedPluginOptions, closure: string[] = []) {
  return [
    '{projectRoot}/**/*',
    '{workspaceRoot}/flake.nix',
    '{workspaceRoot}/flake.lock',
    ...closure.filter((input) => input !== '{workspaceRoot}/flake.nix'),
    ...options.nixInputs.map((glob) => `{workspaceRoot}/${glob}`),
    NIX_VERSION_INPUT,
  ];
}

/**
 * Inputs of <profile>:hygiene: every file its scope checks, what decides how (.gitattributes for LFS,
 * .sops.yaml, the allowlist), and Git's index entries of the scope, so that committing a file changes
 * the hash even when its content does not.
 */
function hygieneInputs(options: ResolvedPluginOptions, root: string, profilePaths: string[]) {
  const allowlist = (options.hygiene as { allowlist?: unknown }).allowlist;
  return [
    '{projectRoot}/**/*',
    ...profilePaths.map((glob) => `{workspaceRoot}/${glob}`),
    '{workspaceRoot}/.gitattributes',
    '{workspaceRoot}/**/.gitattributes',
    '{workspaceRoot}/.sops.yaml',
    ...(typeof allowlist === 'string' ? [`{workspaceRoot}/${allowlist}`] : []),
    indexStateInput(profilePathspecs(root, profilePaths)),
  ];
}

/**
 * A changed outputDir is hygiene's artifacts folder, in the target's options so that it is part of the task
 * hash (the executor would follow nx.json anyway).
 */
const outputDirOption = (options: ResolvedPluginOptions) => (options.outputDir === DEFAULT_OPTIONS.outputDir ? {} : { artifactsDir: options.outputDir });

/** The plugin's `sharing` defaults that launch takes (no pushing). */
const launchSharing = (options: ResolvedPluginOptions) =>
  Object.fromEntries(LAUNCH_SHARING_KEYS.flatMap((key) => (options.sharing[key] === undefined ? [] : [[key, options.sharing[key]]])));

function buildImageTarget(profile: Profile, options: ResolvedPluginOptions, closure: string[]): TargetConfiguration {
  const attr = `packages.${profile.system}.${profile.flake.attribute}`;
  return {
    executor: `${EXECUTOR_PREFIX}:build-image`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...options.sharing },
    cache: true,
    inputs: nixInputs(options, closure),
    outputs: [`{workspaceRoot}/${imageManifestFile(profile.name)}`],
    metadata: {
      description: `Build the ${profile.name} image (${attr}) with Nix; writes ${imageManifestFile(profile.name)}.`,
      technologies: ['nix'],
      help: { command: 'npx nx-nixos help build-image', example: { options: { offline: true } } },
    },
  };
}

function vmTestTarget(profile: Profile, options: ResolvedPluginOptions, closure: string[]): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:vm-test`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...options.sharing, ...(options.vmTestDependsOnImage ? { withImage: true } : {}) },
    ...(options.vmTestDependsOnImage ? { dependsOn: [options.buildImageTargetName] } : {}),
    cache: true,
    inputs: nixInputs(options, closure),
    outputs: [`{workspaceRoot}/${testReportDir(profile.name)}`],
    metadata: {
      description: `Run the NixOS VM tests of ${profile.name} (${profile.tests.map((t) => `checks.${profile.system}.${t}`).join(', ') || 'none declared'}); JUnit report in ${testReportDir(profile.name)}.`,
      technologies: ['nix'],
      help: { command: 'npx nx-nixos help vm-test', example: { options: { offline: true } } },
    },
  };
}

/**
 * `<vm-test>-interactive`: the test's driverInteractive on the terminal. A target of its own because it must
 * never be cached (vm-test is) and never run beside another task that reads the terminal.
 */
export const interactiveTargetName = (options: ResolvedPluginOptions) => `${options.vmTestTargetName}-interactive`;

function vmTestInteractiveTarget(subject: string, options: ResolvedPluginOptions, checks?: string[]): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:vm-test`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...options.sharing, ...(checks ? { checks } : {}), interactive: true },
    cache: false,
    parallelism: false,
    metadata: {
      description: `Run the NixOS test driver of ${subject} interactively (checks.<system>.<test>.driverInteractive): a Python prompt with start_all() and machine.shell_interact(); never cached.`,
      technologies: ['nix', 'qemu'],
      help: { command: 'npx nx-nixos help vm-test', example: { options: { test: 'profile-development' } } },
    },
  };
}

function launchTarget(profile: Profile, options: ResolvedPluginOptions): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:launch`,
    options: { flakeRef: options.flakeRef, ...launchSharing(options) },
    // Runs until stopped, so other targets can depend on it. Nx 22 fails a continuous task that returns,
    // so the detached launch is a target of its own (startTarget).
    continuous: true,
    metadata: {
      description: `Run the ${profile.name} image under QEMU with its ports forwarded on 127.0.0.1 until Ctrl-C, which shuts it down cleanly.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help launch', example: { options: { fresh: true } } },
    },
  };
}

function startTarget(profile: Profile, options: ResolvedPluginOptions): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:launch`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...launchSharing(options), detach: true },
    cache: false,
    metadata: {
      description: `Start the ${profile.name} VM in the background and return once it is ready (launch --detach); stop it with ${options.stopTargetName}.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help launch', example: { options: { instance: 'review' } } },
    },
  };
}

/** The development VM's attribute as its description names it. */
const devVmAttribute = (profile: Profile) => profile.vm?.attribute ?? `nixosConfigurations.${profile.name}.config.system.build.vm`;

/**
 * The development VM, as `nixos-rebuild build-vm` builds it: the system's store paths and a run script, no
 * disk image. Cached like build-image: the output is a small manifest, the store is the content cache.
 */
function buildVmTarget(profile: Profile, options: ResolvedPluginOptions, closure: string[]): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:build-vm`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...launchSharing(options) },
    cache: true,
    inputs: nixInputs(options, closure),
    outputs: [`{workspaceRoot}/${devVmManifestFile(profile.name)}`],
    metadata: {
      description: `Build the ${profile.name} development VM (${devVmAttribute(profile)}) with Nix, no disk image; writes ${devVmManifestFile(profile.name)}.`,
      technologies: ['nix'],
      help: { command: 'npx nx-nixos help build-vm', example: { options: { offline: true } } },
    },
  };
}

function launchVmTarget(profile: Profile, options: ResolvedPluginOptions): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:launch`,
    options: { flakeRef: options.flakeRef, ...launchSharing(options), devVm: true },
    dependsOn: [options.buildVmTargetName],
    continuous: true,
    metadata: {
      description: `Run the ${profile.name} development VM (the host's /nix/store shared, no disk image) with its ports forwarded on 127.0.0.1 until Ctrl-C, which shuts it down cleanly.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help launch', example: { options: { fresh: true } } },
    },
  };
}

function startVmTarget(profile: Profile, options: ResolvedPluginOptions): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:launch`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...launchSharing(options), devVm: true, detach: true },
    dependsOn: [options.buildVmTargetName],
    cache: false,
    metadata: {
      description: `Start the ${profile.name} development VM in the background and return once it is ready; stop it with ${options.stopTargetName}.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help launch', example: { options: { instance: 'review' } } },
    },
  };
}

function stopTarget(profile: Profile): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:stop`,
    ...TASK,
    cache: false,
    metadata: {
      description: `Shut down the detached ${profile.name} VM gracefully (powerdown, then quit, then kill).`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help stop', example: { options: {} } },
    },
  };
}

function statusTarget(profile: Profile): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:status`,
    ...TASK,
    cache: false,
    metadata: {
      description: `List ${profile.name} VM instances: running, stopped or broken, with ports, URLs, uptime and accelerator.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help status', example: { options: { clean: true } } },
    },
  };
}

function sshTarget(profile: Profile): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:ssh`,
    ...TASK,
    cache: false,
    metadata: {
      description: `Open a shell in the running ${profile.name} VM over SSH with the instance's own key, or run the command after \`--\`.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help ssh', example: { options: { print: true } } },
    },
  };
}

function secretsTarget(profile: Profile): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:secrets`,
    ...TASK,
    cache: false,
    metadata: {
      description: `Install secrets into the running ${profile.name} VM over SSH; only what uses a changed secret restarts.`,
      technologies: ['qemu'],
      help: { command: 'npx nx-nixos help secrets', example: { options: { secret: ['sops-age-key=keys.txt'] } } },
    },
  };
}

/** Scope "profile" checks what the profile's evaluation reads: its Nix closure and the extra nixInputs. */
function profileHygieneTarget(profile: Profile, root: string, options: ResolvedPluginOptions, closure: string[]): TargetConfiguration {
  const extraPaths = (options.hygiene as { profilePaths?: string[] }).profilePaths ?? [];
  const profilePaths = [...new Set([...workspaceGlobs(closure), ...options.nixInputs, ...extraPaths])];
  return {
    executor: `${EXECUTOR_PREFIX}:hygiene`,
    ...TASK,
    options: { ...outputDirOption(options), ...options.hygiene, scope: 'profile', profilePaths },
    cache: true,
    inputs: hygieneInputs(options, root, profilePaths),
    metadata: {
      description: `Check the files the ${profile.name} profile reads for plaintext secrets, stray images and stale references.`,
      technologies: ['nix'],
      help: { command: 'npx nx-nixos hygiene --help', example: { options: { format: 'sarif' } } },
    },
  };
}

/**
 * `featureModules`: the module projects of the features the profile turns on. The profile depends on them
 * directly, because imports of feature modules from shared files do not count (option featureModules).
 */
export function profileProject(profile: Profile, root: string, options: ResolvedPluginOptions, closure: string[] = [], featureModules: string[] = []): ProjectConfiguration {
  const build = options.buildImageTargetName;
  const test = options.vmTestTargetName;
  return {
    root,
    name: profile.name,
    projectType: 'application',
    tags: ['type:profile'],
    ...(featureModules.length ? { implicitDependencies: featureModules } : {}),
    metadata: {
      description: profile.description,
      technologies: ['nix', 'qemu'],
      targetGroups: {
        NixOS: [build, test, interactiveTargetName(options), options.buildVmTargetName],
        QEMU: [options.launchTargetName, options.startTargetName, options.launchVmTargetName, options.startVmTargetName, options.stopTargetName, options.statusTargetName, options.sshTargetName, options.secretsTargetName],
        Checks: [options.hygieneTargetName],
      },
    },
    targets: {
      [build]: buildImageTarget(profile, options, closure),
      [test]: vmTestTarget(profile, options, closure),
      [interactiveTargetName(options)]: vmTestInteractiveTarget(profile.name, options),
      [options.launchTargetName]: launchTarget(profile, options),
      [options.startTargetName]: startTarget(profile, options),
      [options.buildVmTargetName]: buildVmTarget(profile, options, closure),
      [options.launchVmTargetName]: launchVmTarget(profile, options),
      [options.startVmTargetName]: startVmTarget(profile, options),
      [options.stopTargetName]: stopTarget(profile),
      [options.statusTargetName]: statusTarget(profile),
      [options.sshTargetName]: sshTarget(profile),
      [options.secretsTargetName]: secretsTarget(profile),
      [options.hygieneTargetName]: profileHygieneTarget(profile, root, options, closure),
    },
  };
}

/** The check a module folder's test.nix becomes in the flake: `module-<folder name>`. */
export const moduleCheckName = (root: string) => `module-${root.slice(root.lastIndexOf('/') + 1)}`;

/** The vm-test of a module folder's test.nix; `testClosure` is what that test's evaluation can read. */
function moduleVmTestTarget(root: string, name: string, options: ResolvedPluginOptions, testClosure: string[]): TargetConfiguration {
  const check = moduleCheckName(root);
  return {
    executor: `${EXECUTOR_PREFIX}:vm-test`,
    ...TASK,
    options: { flakeRef: options.flakeRef, ...options.sharing, checks: [check] },
    cache: true,
    inputs: nixInputs(options, testClosure),
    outputs: [`{workspaceRoot}/${testReportDir(name)}`],
    metadata: {
      description: `Run the NixOS VM test of ${root} (checks.<system>.${check}, from ${root}/test.nix); JUnit report in ${testReportDir(name)}.`,
      technologies: ['nix'],
      help: { command: 'npx nx-nixos help vm-test', example: { options: { offline: true } } },
    },
  };
}

/**
 * A Nix module folder. With a test.nix it gets a vm-test target building `checks.<system>.module-<folder>`;
 * `testClosure` is what that test's evaluation can read.
 */
export function moduleProject(root: string, name: string, options: ResolvedPluginOptions, testClosure?: string[]): ProjectConfiguration {
  return {
    root,
    name,
    tags: ['type:nix-module'],
    metadata: {
      description: `Nix modules in ${root}`,
      technologies: ['nix'],
      ...(testClosure ? { targetGroups: { NixOS: [options.vmTestTargetName, interactiveTargetName(options)] } } : {}),
    },
    ...(testClosure
      ? {
          targets: {
            [options.vmTestTargetName]: moduleVmTestTarget(root, name, options, testClosure),
            [interactiveTargetName(options)]: vmTestInteractiveTarget(`${root}/test.nix`, options, [moduleCheckName(root)]),
          },
        }
      : {}),
  };
}

function doctorTarget(): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:doctor`,
    ...TASK,
    cache: false,
    metadata: {
      description: 'Check that Nix builds here and is new enough for the pinned nixpkgs, which targets need KVM, QEMU and free disk space, each with a fix hint.',
      technologies: ['nix', 'qemu'],
      help: { command: 'npx nx-nixos help doctor', example: { options: {} } },
    },
  };
}

function repoHygieneTarget(options: ResolvedPluginOptions): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:hygiene`,
    ...TASK,
    options: { ...outputDirOption(options), ...options.hygiene, scope: 'repo' },
    // Untracked and ignored files (stray images) are checked too, and no input glob covers them all.
    cache: false,
    metadata: {
      description: 'Check the whole working tree for stray VM images, files that belong in LFS, plaintext secrets and stale references.',
      technologies: ['nix'],
      help: { command: 'npx nx-nixos hygiene --help', example: { options: { format: 'sarif' } } },
    },
  };
}

export function repoProject(options: ResolvedPluginOptions): ProjectConfiguration {
  return {
    root: '.',
    name: options.repoProjectName,
    tags: ['type:repo'],
    metadata: { description: 'Repository-wide targets of the NixOS workspace.', technologies: ['nix'] },
    targets: {
      [options.doctorTargetName]: doctorTarget(),
      [options.hygieneTargetName]: repoHygieneTarget(options),
    },
  };
}

function docsCheckTarget(options: ResolvedPluginOptions): TargetConfiguration {
  return {
    executor: `${EXECUTOR_PREFIX}:docs-check`,
    ...TASK,
    options: { ...options.docsCheck },
    cache: true,
    inputs: ['{projectRoot}/**/*', '{workspaceRoot}/**/README.md', '{workspaceRoot}/nx.json', `{workspaceRoot}/${options.profilesDir}/*/profile.json`],
    metadata: {
      description: 'Check links and anchors, the Divio structure, stub pages, and every nx command quoted in the docs against the project graph.',
      technologies: ['markdown'],
      help: { command: 'npx nx-nixos docs-check --help', example: { options: { format: 'github' } } },
    },
  };
}

/** Only called when the workspace has a documentation project (docsProjectName is not false). */
export function docsProject(options: ResolvedPluginOptions): ProjectConfiguration {
  return {
    root: options.docsDir,
    name: options.docsProjectName || 'docs',
    tags: ['type:docs'],
    metadata: { description: 'Operator and developer documentation (Divio: tutorials, how-to, reference, explanation).' },
    targets: { [options.docsCheckTargetName]: docsCheckTarget(options) },
  };
}
