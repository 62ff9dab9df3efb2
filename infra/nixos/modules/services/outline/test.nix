# checks.<system>.module-outline: services.rave.outline alone on base.nix, with its database and Redis
# local and its secrets from test fixtures (infra/nixos/tests/node.nix). Checks Outline's health
# route (which queries its database and Redis) through nginx on its own host name, and the redirect
# from its profile path. Outline is unfree: like the profiles, the node imports configs/nixpkgs.nix,
# so it builds its own pkgs (node.pkgsReadOnly = false), as nixpkgs' n8n test does for n8n.
# nixpkgs' Outline test (nixos/tests/outline.nix) sets no memory and uses default timeouts; this
# node also runs nginx and PostgreSQL, as the base configuration's test (configs/test.nix) does in 2 GiB.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;
  units = (import ../../../lib/service-units.nix).features.outline;
in
pkgs.testers.runNixOSTest {
  name = "rave-module-outline";

  node.pkgsReadOnly = false;

  nodes.machine = {
    imports = [
      sopsModule
      (import ../../../tests/module-node.nix { feature = "outline"; })
      ../../../configs/nixpkgs.nix
    ];
    services.rave.outline.enable = true;
    virtualisation.memorySize = 2048;
  };

  testScript =
    { nodes, ... }:
    ''
      url = "${nodes.machine.services.rave.outline.publicUrl}"
      curl = "curl --silent --show-error --fail --insecure "

      ${lib.concatMapStrings (u: "machine.wait_for_unit(\"${u}\")\n") units}
      with subtest("Outline's health route answers OK through nginx on its own host name"):
          machine.wait_until_succeeds(curl + url + "/_health | grep -qx OK")

      with subtest("its profile path redirects to its host name"):
          machine.succeed(
              "curl --silent --insecure --output /dev/null --write-out '%{redirect_url}' https://localhost/outline/"
              + " | grep -qxF " + url + "/"
          )
    '';
}
