# checks.<system>.profile-<name>: the VM test of one profile. The node is the profile's own
# configuration (profiles/<name>/profile.nix, its features on as in the image) with the memory, CPUs
# and disk of its profile.json; the script is generated from the same profile.json
# (infra/nixos/lib/profile-test-script.nix). profiles/<name>/test.nix, when there is one, is a further
# module of this test: it can add to nodes.machine and append Python through profileTest.extraScript.
# Run: nix build .#checks.x86_64-linux.profile-<name>
{
  pkgs,
  sopsModule,
  name,
  profile,
}:
let
  extraTest = ../../../profiles + "/${name}/test.nix";
in
pkgs.testers.runNixOSTest {
  name = "rave-profile-${name}";
  imports = [ ./profile-test-options.nix ] ++ pkgs.lib.optional (builtins.pathExists extraTest) extraTest;
  profileTest.script = import ../lib/profile-test-script.nix { inherit profile; };

  # profile.nix imports configs/nixpkgs.nix, which sets nixpkgs.config (Outline and n8n are unfree):
  # the node then builds its own pkgs from its nixpkgs.* options instead of the test's read-only one.
  node.pkgsReadOnly = false;

  nodes.machine = {
    imports = [
      sopsModule
      (../../../profiles + "/${name}/profile.nix")
      ./node.nix
    ];
    virtualisation = {
      memorySize = profile.resources.memoryMiB;
      cores = profile.resources.cpus;
      diskSize = profile.resources.diskGiB * 1024;
      # Every profile runs GitLab: as in nixpkgs' GitLab test (nixos/tests/gitlab/gitlab.nix), the
      # store comes from an image, which GitLab reads much faster than the host's store over 9p.
      useNixStoreImage = true;
    };
  };
}
