import { diagnoseNixFailure, formatDiagnosis } from './diagnose';

describe('diagnoseNixFailure', () => {
  it('names the missing build users group and both fixes', () => {
    const d = diagnoseNixFailure(["warning: the group 'nixbld' specified in 'build-users-group' does not exist"]);
    expect(d?.kind).toBe('build-users-group');
    expect(d?.fix).toContain('nix-setup-systemd');
    expect(d?.fix).toContain('build-users-group =');
  });

  it.each([
    ["error: opening lock file '/nix/var/nix/db/big-lock': Permission denied"],
    ["error: creating directory '/nix/store/tmp-1': Read-only file system"],
    ["error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': No such file or directory"],
  ])('recognises a store this user cannot write: %s', (message) => {
    const d = diagnoseNixFailure([message]);
    expect(d?.kind).toBe('store-not-writable');
    expect(d?.fix).toMatch(/user that owns \/nix|nix-daemon/);
  });

  it('recognises flakes disabled by a configuration', () => {
    expect(diagnoseNixFailure(["error: experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override"])?.kind).toBe('flakes-disabled');
  });

  it('says "no network" for a name that does not resolve, but not for an HTTP error', () => {
    const d = diagnoseNixFailure(["error: unable to download 'https://api.github.com/repos/NixOS/nixpkgs/tarball/abc': Couldn't resolve host name (6)"]);
    expect(d && formatDiagnosis(d)).toBe(
      "no network: https://api.github.com/repos/NixOS/nixpkgs/tarball/abc (Couldn't resolve host name (6)); use --offline (only what is in the local store), a binary cache you can reach, or a machine with network.",
    );
    expect(diagnoseNixFailure(["error: unable to download 'https://example.org/x': HTTP error 404"])).toBeUndefined();
  });

  it('recognises a derivation that needs kvm, in the words of Nix 2.8 and of newer Nix', () => {
    const old = diagnoseNixFailure([
      "error: a 'x86_64-linux' with features {kvm, nixos-test} is required to build '/nix/store/abc-nixos.qcow2.drv', but I am a 'x86_64-linux' with features {benchmark, big-parallel, nixos-test}",
    ]);
    expect(old?.kind).toBe('kvm-required');
    expect(old?.problem).toContain('/nix/store/abc-nixos.qcow2.drv');
    const recent = diagnoseNixFailure(["Required system: 'x86_64-linux' with features {kvm}"]);
    expect(recent?.fix).toContain('remote builder');
  });

  it('leaves a failure it does not know alone', () => {
    expect(diagnoseNixFailure(["error: builder for '/nix/store/x.drv' failed with exit code 1"])).toBeUndefined();
  });
});
