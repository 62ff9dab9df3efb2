import { nixInstallHint, runNix, stripAnsi } from './command';

export interface NixVersion {
  text: string;
  major: number;
  minor: number;
  patch: number;
}

export const MINIMUM_NIX = { major: 2, minor: 8 };

export class NixTooOldError extends Error {
  constructor(version: NixVersion) {
    super(`Nix ${version.text} is too old: version ${MINIMUM_NIX.major}.${MINIMUM_NIX.minor} or newer is needed. ${nixInstallHint()}`);
    this.name = 'NixTooOldError';
  }
}

/**
 * Parses `nix --version` output such as "nix (Nix) 2.8.0"; the last version on the first line is Nix's
 * (distributions print their own first: "nix (Determinate Nix 3.6.2) 2.29.0").
 */
export function parseNixVersion(output: string): NixVersion {
  const firstLine = stripAnsi(output).trim().split('\n')[0];
  const match = [...firstLine.matchAll(/(\d+)\.(\d+)(?:\.(\d+))?[^\s)]*/g)].pop();
  if (!match) throw new Error(`Cannot read the Nix version from \`nix --version\` output: ${JSON.stringify(output.trim())}`);
  return { text: match[0], major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

export function atLeast(version: NixVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** Negative when `a` is older than `b`. */
export function compareVersions(a: NixVersion, b: NixVersion): number {
  return [a.major - b.major, a.minor - b.minor, a.patch - b.patch].find((d) => d !== 0) ?? 0;
}

let probed: Promise<NixVersion> | undefined;

/** Runs `nix --version` once per process; rejects with one clear message when Nix is missing or too old. */
export function probeNix(): Promise<NixVersion> {
  probed ??= (async () => {
    const result = await runNix('nix', ['--version']);
    if (result.code !== 0) throw new Error(`\`nix --version\` failed: ${result.stderrTail.join('\n')}\n${nixInstallHint()}`);
    const version = parseNixVersion(result.stdout);
    if (!atLeast(version, MINIMUM_NIX.major, MINIMUM_NIX.minor)) throw new NixTooOldError(version);
    return version;
  })();
  probed.catch(() => (probed = undefined));
  return probed;
}
