import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeInput, inputForUrl, readLockedInputs, sourceStorePath } from './flake-lock';
import { REPO_ROOT } from '../testing/workspace';

describe('flake.lock', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'flake-lock-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('computes the store path Nix unpacks a locked input to from its narHash', () => {
    // `nix store add-path --name source` of sops-nix at 56b24064 gives this path; its narHash is the lock's.
    expect(sourceStorePath('sha256-478kKQBvK6SYTOdN2h9jhKJv94nbXRbFMfuL1WshErg=')).toBe('/nix/store/kg1vl7fibahfgq8zrxs8l076xakmmjim-source');
    expect(sourceStorePath('sha1-abc')).toBeUndefined();
  });

  it("reads the repository's own lock: nixpkgs and sops-nix pinned, sops-nix following nixpkgs", () => {
    const inputs = readLockedInputs(REPO_ROOT)!;
    expect(inputs.map((i) => i.name).sort()).toEqual(['nixpkgs', 'sops-nix']);
    for (const input of inputs) {
      expect(input.rev).toMatch(/^[0-9a-f]{40}$/);
      expect(input.narHash).toMatch(/^sha256-[A-Za-z0-9+/]{43}=$/);
      expect(input.lastModified).toBeGreaterThan(1_700_000_000);
    }
    const nixpkgs = inputs.find((i) => i.name === 'nixpkgs')!;
    expect(inputForUrl(inputs, `https://api.github.com/repos/NixOS/nixpkgs/tarball/${nixpkgs.rev}`)).toBe(nixpkgs);
    expect(describeInput(nixpkgs)).toBe(`nixpkgs (NixOS/nixpkgs at ${nixpkgs.rev}, pinned in flake.lock)`);
  });

  it('is undefined without a lock, and refuses a lock that is not one or leads outside the workspace', () => {
    expect(readLockedInputs(dir)).toBeUndefined();
    writeFileSync(join(dir, 'flake.lock'), '{"version": 7');
    expect(() => readLockedInputs(dir)).toThrow(/flake\.lock is not valid JSON/);
    writeFileSync(join(dir, 'flake.lock'), '{"version": 7, "nodes": []}');
    expect(() => readLockedInputs(dir)).toThrow(/flake\.lock is not a flake lock file: root/);
    rmSync(join(dir, 'flake.lock'));
    symlinkSync('/etc/passwd', join(dir, 'flake.lock'));
    expect(() => readLockedInputs(dir)).toThrow(/flake\.lock: leads outside the workspace/);
  });
});
