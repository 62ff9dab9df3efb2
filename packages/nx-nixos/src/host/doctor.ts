import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NixBuildError, nixBuild } from '../nix/build';
import { nixInstallHint } from '../nix/command';
import { formatBytes } from '../nix/progress-render';
import { buildParallelism, describeParallelism } from '../nix/parallelism';
import { checkSystemFeatures, flakeNixRequirement, nixSettings } from '../nix/requirements';
import { compareVersions, parseNixVersion, probeNix, type NixVersion } from '../nix/version';
import type { Profile } from '../profile/schema';
import { toolVersion } from '../qemu/tool-versions';
import { kvmStatus } from './kvm';
import { inWorkspace, outputDir, vmsDir, workspaceNames } from '../layout';

export type CheckLevel = 'ok' | 'warning' | 'error';

export interface DoctorCheck {
  name: string;
  level: CheckLevel;
  detail: string;
  fix?: string;
}

export interface DoctorProfile {
  profile: Profile;
  /** Workspace-relative folder of the profile. */
  dir: string;
}

const GiB = 1024 ** 3;

/**
 * A derivation built by Nix itself (builtin:buildenv, so no shell or nixpkgs is needed), different on every
 * run so that it is really built: proves flakes, the store, build users and the sandbox work together.
 */
const probeFlake = (nonce: string) => `{
  outputs = _: {
    probe = derivation {
      name = "nx-nixos-doctor-probe";
      system = "builtin";
      builder = "builtin:buildenv";
      derivations = "";
      manifest = builtins.toFile "manifest" "";
      nonce = "${nonce}";
    };
  };
}
`;

/** Builds the probe derivation with the flags every executor uses; the check says what failed and how to fix it. */
export async function nixBuildCheck(): Promise<DoctorCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'nx-nixos-doctor-'));
  try {
    writeFileSync(join(dir, 'flake.nix'), probeFlake(randomBytes(8).toString('hex')));
    await nixBuild({ cwd: dir, installable: `path:${dir}#probe`, offline: true });
    return { name: 'nix build', level: 'ok', detail: 'built a test derivation in the Nix store (flakes, store, build users)' };
  } catch (e) {
    if (e instanceof NixBuildError && e.diagnosis)
      return { name: 'nix build', level: 'error', detail: `cannot build: ${e.diagnosis.problem}`, fix: e.diagnosis.fix };
    // Not a failure we know: Nix's own words, unchanged.
    const lines = (e as Error).message.split('\n').filter((l) => !/^nix build .* failed\.$/.test(l));
    return { name: 'nix build', level: 'error', detail: `cannot build a test derivation; Nix said:\n${lines.join('\n')}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The installed Nix against what the flake's pinned nixpkgs needs. */
export function flakeNixCheck(workspaceRoot: string, version: NixVersion): DoctorCheck | undefined {
  let requirement;
  try {
    requirement = flakeNixRequirement(workspaceRoot);
  } catch (e) {
    return { name: 'nix for flake', level: 'error', detail: (e as Error).message };
  }
  if (!requirement) return undefined;
  const needed = parseNixVersion(requirement.version);
  if (compareVersions(version, needed) < 0)
    return {
      name: 'nix for flake',
      level: 'error',
      detail: `Nix ${version.text} is older than the ${requirement.version} this flake needs (${requirement.source})`,
      fix: `install Nix ${requirement.version} or newer with the official installer (https://nixos.org/download) or a distribution package of that version`,
    };
  return requirement.stale
    ? { name: 'nix for flake', level: 'warning', detail: `Nix ${version.text}; ${requirement.stale}` }
    : { name: 'nix for flake', level: 'ok', detail: `Nix ${version.text} >= ${requirement.version} (${requirement.source})` };
}

/** Which build-image targets need system features (kvm), and whether this machine or a builder has them; one line per need. */
async function systemFeatureChecks(profiles: readonly DoctorProfile[]): Promise<DoctorCheck[]> {
  const needing = profiles.filter((p) => p.profile.image.requiredSystemFeatures.length);
  if (!needing.length) return [];
  const settings = await nixSettings();
  const groups = new Map<string, DoctorProfile[]>();
  for (const p of needing) {
    const key = `${p.profile.system} ${p.profile.image.requiredSystemFeatures.join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()].map((group) => {
    const { system, image } = group[0].profile;
    const check = checkSystemFeatures(image.requiredSystemFeatures, system, settings);
    const build = workspaceNames().buildImageTargetName;
    const targets = group.map((p) => `${p.profile.name}:${build}`).join(', ');
    const files = group.map((p) => `${p.dir}/profile.json`).join(', ');
    return check.ok
      ? { name: 'build features', level: 'ok', detail: `${targets} need ${image.requiredSystemFeatures.join(', ')}: ${check.providers.join(', ')}` }
      : {
          name: 'build features',
          level: 'warning',
          detail: `${targets} ${check.detail} (image.requiredSystemFeatures in ${files})`,
          fix: `run ${build} on a KVM host, or configure a remote builder with kvm in its supported features (option "builders")`,
        };
  });
}

/**
 * How many derivations local builds run at once and how many cores each gets, and where each value comes
 * from: one line per distinct maxJobs option of the build-image targets.
 */
export function buildJobsChecks(maxJobsOptions: readonly (number | undefined)[], env: NodeJS.ProcessEnv = process.env): DoctorCheck[] {
  const distinct = maxJobsOptions.length ? [...new Set(maxJobsOptions)] : [undefined];
  return distinct.map((maxJobs) => {
    const parallelism = buildParallelism({ maxJobs }, env);
    const serial = parallelism.maxJobs.value === '1';
    return {
      name: 'build jobs',
      level: 'ok',
      detail: `${describeParallelism(parallelism)}${serial ? '; derivations build one at a time' : ''}`,
      ...(serial ? { fix: `to build in parallel, remove max-jobs from ${parallelism.maxJobs.source} or set it to auto` } : {}),
    };
  });
}

/** Everything the targets need from the host, each with a fix hint. `error` means a required part is missing. */
export async function runDoctor(
  workspaceRoot: string,
  thresholds = { warnFreeBytes: 20 * GiB, errorFreeBytes: 2 * GiB },
  profiles: readonly DoctorProfile[] = [],
  /** The maxJobs options of the build-image targets. */
  maxJobsOptions: readonly (number | undefined)[] = [],
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let version: NixVersion | undefined;
  try {
    version = await probeNix();
    checks.push({ name: 'nix', level: 'ok', detail: `Nix ${version.text}` });
  } catch (e) {
    checks.push({ name: 'nix', level: 'error', detail: (e as Error).message.split('. ')[0], fix: nixInstallHint() });
  }
  if (version) {
    const build = await nixBuildCheck();
    checks.push(build);
    const flake = flakeNixCheck(workspaceRoot, version);
    if (flake) checks.push(flake);
    if (build.level === 'ok') checks.push(...(await systemFeatureChecks(profiles)));
    checks.push(...buildJobsChecks(maxJobsOptions));
  }
  const kvm = kvmStatus();
  checks.push(
    kvm.usable
      ? { name: 'kvm', level: 'ok', detail: '/dev/kvm is usable' }
      : { name: 'kvm', level: 'warning', detail: `${kvm.reason}: VMs run under TCG (slow); images and NixOS VM tests need a builder with KVM`, fix: kvm.fix },
  );
  const fixes = { 'qemu-system-x86_64': 'apt-get install qemu-system-x86 (or your distribution\'s QEMU package)', 'qemu-img': 'apt-get install qemu-utils' } as const;
  for (const program of ['qemu-system-x86_64', 'qemu-img'] as const) {
    const version = await toolVersion(program);
    checks.push(version.found ? { name: program, level: 'ok', detail: version.version } : { name: program, level: 'error', detail: version.error, fix: fixes[program] });
  }
  const artifacts = inWorkspace(workspaceRoot, outputDir());
  const stats = statfsSync(existsSync(artifacts) ? artifacts : workspaceRoot);
  const free = stats.bavail * stats.bsize;
  const level: CheckLevel = free < thresholds.errorFreeBytes ? 'error' : free < thresholds.warnFreeBytes ? 'warning' : 'ok';
  checks.push({
    name: 'disk',
    level,
    detail: `${formatBytes(free)} free under ${outputDir()}/`,
    ...(level === 'ok' ? {} : { fix: `free space (overlays and images need ${formatBytes(thresholds.warnFreeBytes)} or more), e.g. nix-collect-garbage -d and delete old ${vmsDir()}` }),
  });
  return checks;
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', warning: 'warn', error: 'FAIL' };

export function formatDoctor(checks: readonly DoctorCheck[]): string {
  const indent = `     ${''.padEnd(19)} `;
  return (
    checks
      .map((c) => `${MARK[c.level]} ${c.name.padEnd(19)} ${c.detail.split('\n').join(`\n${indent}`)}${c.fix ? `\n${indent}fix: ${c.fix}` : ''}`)
      .join('\n') + '\n'
  );
}
