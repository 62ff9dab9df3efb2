# How nixpkgs is instantiated for a profile's system: it allows exactly the unfree packages that the
# enabled services list in services.rave.unfreePackages (declared in base.nix).
# Kept out of base.nix: a NixOS test (pkgs.testers.runNixOSTest) gives its nodes a read-only pkgs,
# where any definition of a nixpkgs.* option is an error. Profiles import this file and base.nix; a
# test imports it only with node.pkgsReadOnly = false (the profile tests, Outline's and n8n's), and
# tools/checks/test-nodes.spec.ts checks that.
{ config, lib, ... }:
let
  unfree = config.services.rave.unfreePackages;
in
{
  # No definition at all while nothing unfree is enabled.
  nixpkgs.config = lib.mkIf (unfree != [ ]) {
    allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) unfree;
  };
}
