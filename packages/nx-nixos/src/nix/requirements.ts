import { join } from 'node:path';
import { z } from 'zod';
import { readRegularFile, readWorkspaceFile } from '../fs/read-inside';
import { kvmStatus } from '../host/kvm';
import { nixConfig } from './config';
import type { NixSharingOptions } from './copy';
import { KVM_WAYS_OUT } from './diagnose';
import { describeInput, readLockedInputs, sourceStorePath, type LockedInput } from './flake-lock';
import { compareVersions, parseNixVersion, probeNix, type NixVersion } from './version';

/** Beside flake.lock: the Nix version the pinned nixpkgs needs, for machines that do not have its source yet. */
export const RECORDED_REQUIREMENTS = 'nix-requirements.json';

const recordSchema = z
  .object({
    minimumNixVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/),
    nixpkgsRev: z.string().regex(/^[0-9a-f]{40}$/),
    readFrom: z.string().optional(),
  })
  .strict();

export interface NixRequirement {
  version: string;
  /** Where the version comes from, for messages. */
  source: string;
  /** Set when the record names another nixpkgs revision than flake.lock. */
  stale?: string;
}

const MINVER = /"(\d+\.\d+(?:\.\d+)?)"/;

/** The pinned nixpkgs of a flake.lock: the root input named nixpkgs, or the one whose repository is nixpkgs. */
export function lockedNixpkgs(inputs: readonly LockedInput[]): LockedInput | undefined {
  return inputs.find((i) => i.name === 'nixpkgs') ?? inputs.find((i) => i.repo === 'nixpkgs');
}

/** lib/minver.nix of the locked nixpkgs when its source is in the local store. */
export function minverFromStore(nixpkgs: LockedInput, storeDir = '/nix/store'): string | undefined {
  const path = nixpkgs.narHash ? sourceStorePath(nixpkgs.narHash, storeDir) : undefined;
  if (!path) return undefined;
  const text = readRegularFile(join(path, 'lib', 'minver.nix'), 64 * 1024);
  return typeof text === 'string' ? MINVER.exec(text)?.[1] : undefined;
}

/**
 * The Nix version the flake needs: lib/minver.nix of its locked nixpkgs when that source is in the store,
 * else the value recorded in nix-requirements.json. Undefined for flakes without nixpkgs (fixtures).
 */
export function flakeNixRequirement(workspaceRoot: string, flakeDir = '.', storeDir = '/nix/store'): NixRequirement | undefined {
  const inputs = readLockedInputs(workspaceRoot, flakeDir) ?? [];
  const nixpkgs = lockedNixpkgs(inputs);
  const fromStore = nixpkgs ? minverFromStore(nixpkgs, storeDir) : undefined;
  if (nixpkgs && fromStore) return { version: fromStore, source: `lib/minver.nix of ${describeInput(nixpkgs)}` };
  const recordFile = join(flakeDir, RECORDED_REQUIREMENTS);
  const text = readWorkspaceFile(workspaceRoot, recordFile, { missing: 'undefined', maxBytes: 64 * 1024 });
  if (text === undefined) return undefined;
  let record: z.infer<typeof recordSchema>;
  try {
    record = recordSchema.parse(JSON.parse(text));
  } catch (e) {
    throw new Error(`${recordFile} is invalid (${e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ') : 'not JSON'}): it needs {"minimumNixVersion": "2.18.0", "nixpkgsRev": "<40 hex digits>"}.`, { cause: e });
  }
  const stale =
    nixpkgs?.rev && nixpkgs.rev !== record.nixpkgsRev
      ? `${recordFile} was read from nixpkgs ${record.nixpkgsRev}, but flake.lock pins ${nixpkgs.rev}: update it from lib/minver.nix of the new revision.`
      : undefined;
  return { version: record.minimumNixVersion, source: `${recordFile} (lib/minver.nix of nixpkgs ${record.nixpkgsRev})`, ...(stale ? { stale } : {}) };
}

export class NixTooOldForFlakeError extends Error {
  constructor(have: NixVersion, requirement: NixRequirement) {
    super(
      `Nix ${have.text} is too old for this flake: it needs Nix ${requirement.version} or newer (${requirement.source}). ` +
        `Install Nix ${requirement.version} or newer with the official installer (https://nixos.org/download) or a distribution package of that version; ` +
        'older Nix can build only flakes without nixpkgs, such as the plugin\'s test fixtures.',
    );
    this.name = 'NixTooOldForFlakeError';
  }
}

/** Stops before any evaluation when the installed Nix is older than the flake's locked nixpkgs needs. */
export async function assertNixForFlake(workspaceRoot: string, flakeRef = '.'): Promise<NixRequirement | undefined> {
  const version = await probeNix();
  const flakeDir = localFlakeDir(flakeRef);
  if (flakeDir === undefined) return undefined;
  const requirement = flakeNixRequirement(workspaceRoot, flakeDir);
  if (!requirement) return undefined;
  if (compareVersions(version, parseNixVersion(requirement.version)) < 0) throw new NixTooOldForFlakeError(version, requirement);
  return requirement;
}

/** The folder of a flake given as a local path ("." or "./sub"); undefined for other flake references. */
function localFlakeDir(flakeRef: string): string | undefined {
  const path = flakeRef.startsWith('path:') ? flakeRef.slice(5) : flakeRef;
  return path === '.' || path.startsWith('./') ? path.split('?')[0] : undefined;
}

/** One entry of Nix's `builders` setting (machines file syntax). */
export interface BuildMachine {
  uri: string;
  systems: string[];
  supportedFeatures: string[];
  mandatoryFeatures: string[];
}

const list = (field: string | undefined) => (field && field !== '-' ? field.split(',').filter(Boolean) : []);

/** Parses Nix's `builders` value: machines separated by ";" or newlines, "@file" read from that file. */
export function parseBuilders(spec: string, readFile: (path: string) => string | undefined = readMachinesFile, depth = 0): BuildMachine[] {
  return spec
    .split(/[;\n]/)
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .flatMap((entry) => {
      if (entry.startsWith('@')) return depth < 4 ? parseBuilders(readFile(entry.slice(1).trim()) ?? '', readFile, depth + 1) : [];
      const fields = entry.split(/\s+/);
      return [{ uri: fields[0], systems: list(fields[1]), supportedFeatures: list(fields[5]), mandatoryFeatures: list(fields[6]) }];
    });
}

/** A machines file of the host's Nix configuration (on NixOS a link into /etc/static), when it is a small regular file; anything else counts as empty. */
function readMachinesFile(path: string): string | undefined {
  const text = readRegularFile(path, 1024 * 1024, true);
  return typeof text === 'string' ? text : undefined;
}

interface NixSettings {
  systemFeatures: string[];
  builders: string;
}

/** The effective system-features and builders, with the same options the build passes. */
export async function nixSettings(sharing: NixSharingOptions = {}): Promise<NixSettings> {
  await probeNix();
  const { 'system-features': features, builders } = await nixConfig();
  return {
    systemFeatures: sharing.systemFeatures ?? (Array.isArray(features) ? features.map(String) : []),
    builders: sharing.builders ?? (typeof builders === 'string' ? builders : ''),
  };
}

export interface FeatureCheck {
  ok: boolean;
  /** Who can build it: "this machine" or the builders' URIs. */
  providers: string[];
  detail: string;
}

/** Whether this machine (when it builds locally) or a configured builder for `system` offers every required feature. */
export function checkSystemFeatures(required: readonly string[], system: string, settings: NixSettings, sharing: NixSharingOptions = {}): FeatureCheck {
  if (required.length === 0) return { ok: true, providers: ['this machine'], detail: 'no system features required' };
  const localBuilds = sharing.maxJobs !== 0;
  const local = localBuilds && required.every((f) => settings.systemFeatures.includes(f));
  const remote = parseBuilders(settings.builders)
    .filter((m) => (m.systems.length === 0 || m.systems.includes(system)) && required.every((f) => m.supportedFeatures.includes(f) || m.mandatoryFeatures.includes(f)))
    .map((m) => m.uri);
  const providers = [...(local ? ['this machine'] : []), ...remote];
  const wanted = required.join(', ');
  if (providers.length) return { ok: true, providers, detail: `${wanted}: ${providers.join(', ')}` };
  const kvm = required.includes('kvm') ? kvmStatus() : undefined;
  const why = [
    localBuilds ? `this machine's Nix system-features are {${settings.systemFeatures.join(', ')}}${kvm && !kvm.usable ? ` (${kvm.reason})` : ''}` : 'local builds are off (maxJobs 0)',
    'no configured remote builder offers them',
  ];
  return { ok: false, providers, detail: `needs a builder with {${wanted}}, but ${why.join(' and ')}` };
}

export class MissingSystemFeaturesError extends Error {
  constructor(what: string, required: readonly string[], check: FeatureCheck) {
    const fix = required.includes('kvm')
      ? KVM_WAYS_OUT
      : `configure a remote builder whose supported features include ${required.join(', ')} (option "builders").`;
    super(`${what} ${check.detail}. Nothing was built.\nFix: ${fix}`);
    this.name = 'MissingSystemFeaturesError';
  }
}
