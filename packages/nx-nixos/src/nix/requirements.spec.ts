import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../testing/workspace';
import { readLockedInputs, sourceStorePath } from './flake-lock';
import { checkSystemFeatures, flakeNixRequirement, lockedNixpkgs, minverFromStore, parseBuilders, RECORDED_REQUIREMENTS } from './requirements';

const REV = 'a'.repeat(40);
const NAR_HASH = 'sha256-478kKQBvK6SYTOdN2h9jhKJv94nbXRbFMfuL1WshErg=';
const lock = (rev: string) =>
  JSON.stringify({
    nodes: {
      nixpkgs: { locked: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev, narHash: NAR_HASH, lastModified: 1 }, original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' } },
      root: { inputs: { nixpkgs: 'nixpkgs' } },
    },
    root: 'root',
    version: 7,
  });

describe('the Nix version a flake needs', () => {
  let dir: string;
  let store: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nix-req-'));
    store = mkdtempSync(join(tmpdir(), 'nix-store-'));
  });
  afterEach(() => [dir, store].forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads lib/minver.nix of the locked nixpkgs when its source is in the store', () => {
    writeFileSync(join(dir, 'flake.lock'), lock(REV));
    const source = sourceStorePath(NAR_HASH, store)!;
    mkdirSync(join(source, 'lib'), { recursive: true });
    writeFileSync(join(source, 'lib', 'minver.nix'), '# Expose the minimum required version for evaluating Nixpkgs\n"2.18.0"\n');
    expect(flakeNixRequirement(dir, '.', store)).toEqual({ version: '2.18.0', source: `lib/minver.nix of nixpkgs (NixOS/nixpkgs at ${REV}, pinned in flake.lock)` });
  });

  it('falls back to the recorded value, and says when it was recorded for another revision', () => {
    writeFileSync(join(dir, 'flake.lock'), lock(REV));
    writeFileSync(join(dir, RECORDED_REQUIREMENTS), JSON.stringify({ minimumNixVersion: '2.18.0', nixpkgsRev: REV }));
    expect(flakeNixRequirement(dir, '.', store)).toEqual({ version: '2.18.0', source: `nix-requirements.json (lib/minver.nix of nixpkgs ${REV})` });
    writeFileSync(join(dir, 'flake.lock'), lock('b'.repeat(40)));
    expect(flakeNixRequirement(dir, '.', store)?.stale).toMatch(/was read from nixpkgs a{40}, but flake\.lock pins b{40}/);
  });

  it('has no requirement for a flake without nixpkgs, and refuses a broken record', () => {
    expect(flakeNixRequirement(dir, '.', store)).toBeUndefined();
    writeFileSync(join(dir, RECORDED_REQUIREMENTS), '{"minimumNixVersion": "soon"}');
    expect(() => flakeNixRequirement(dir, '.', store)).toThrow(/nix-requirements\.json is invalid \(minimumNixVersion: .*nixpkgsRev: /);
  });

  it("keeps this repository's record equal to lib/minver.nix of the pinned nixpkgs", () => {
    const nixpkgs = lockedNixpkgs(readLockedInputs(REPO_ROOT)!)!;
    const requirement = flakeNixRequirement(REPO_ROOT);
    expect(requirement?.stale).toBeUndefined();
    // Where the pinned source is in the store (after a build), the record must say what it says.
    const fromStore = minverFromStore(nixpkgs);
    if (fromStore) expect(requirement?.version).toBe(fromStore);
    else expect(requirement?.source).toBe(`nix-requirements.json (lib/minver.nix of nixpkgs ${nixpkgs.rev})`);
  });
});

describe('system features', () => {
  it('parses builders in machines syntax, including @files', () => {
    const machines = parseBuilders('ssh-ng://a x86_64-linux - 4 1 kvm,nixos-test; @/machines', (path) =>
      path === '/machines' ? '# comment\nssh://b aarch64-linux,x86_64-linux /key 2 1 big-parallel kvm\n' : undefined,
    );
    expect(machines).toEqual([
      { uri: 'ssh-ng://a', systems: ['x86_64-linux'], supportedFeatures: ['kvm', 'nixos-test'], mandatoryFeatures: [] },
      { uri: 'ssh://b', systems: ['aarch64-linux', 'x86_64-linux'], supportedFeatures: ['big-parallel'], mandatoryFeatures: ['kvm'] },
    ]);
  });

  it('needs this machine or a builder for the system with every feature', () => {
    const local = { systemFeatures: ['kvm', 'nixos-test'], builders: '' };
    expect(checkSystemFeatures(['kvm'], 'x86_64-linux', local)).toMatchObject({ ok: true, providers: ['this machine'] });
    expect(checkSystemFeatures(['kvm'], 'x86_64-linux', local, { maxJobs: 0 }).ok).toBe(false);
    const remote = { systemFeatures: ['nixos-test'], builders: 'ssh-ng://arm aarch64-linux - 1 1 kvm;ssh-ng://x86 x86_64-linux - 1 1 kvm' };
    expect(checkSystemFeatures(['kvm'], 'x86_64-linux', remote)).toMatchObject({ ok: true, providers: ['ssh-ng://x86'] });
    const none = checkSystemFeatures(['kvm'], 'x86_64-linux', { systemFeatures: ['nixos-test'], builders: 'ssh-ng://x86 x86_64-linux - 1 1 big-parallel' });
    expect(none.ok).toBe(false);
    expect(none.detail).toMatch(/^needs a builder with \{kvm\}, but this machine's Nix system-features are \{nixos-test\}.* and no configured remote builder offers them$/);
    expect(checkSystemFeatures([], 'x86_64-linux', { systemFeatures: [], builders: '' }).ok).toBe(true);
  });
});
