# checks.<system>.module-n8n: services.rave.n8n alone on base.nix, with PostgreSQL over TCP (its role
# password set at boot) and its secrets from test fixtures (infra/nixos/tests/node.nix). Checks n8n's
# health route and its readiness route (database connected and migrated) through nginx under its
# profile path. n8n is unfree: like the profiles, the node imports configs/nixpkgs.nix and builds its
# own pkgs (node.pkgsReadOnly = false), as nixpkgs' n8n test (nixos/tests/n8n.nix) does.
# That test sets no memory and uses default timeouts; this node also runs nginx and PostgreSQL, as
# the base configuration's test (configs/test.nix) does in 2 GiB.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;
  units = (import ../../../lib/service-units.nix).features.n8n;
in
pkgs.testers.runNixOSTest {
  name = "rave-module-n8n";

  node.pkgsReadOnly = false;

  nodes.machine = {
    imports = [
      sopsModule
      (import ../../../tests/module-node.nix { feature = "n8n"; })
      ../../../configs/nixpkgs.nix
    ];
    services.rave.n8n.enable = true;
    virtualisation.memorySize = 2048;
  };

  testScript =
    { nodes, ... }:
    ''
      url = "${nodes.machine.services.rave.n8n.publicUrl}"
      curl = "curl --silent --show-error --fail --insecure "

      machine.wait_for_unit("rave-postgresql-password-n8n.service")
      ${lib.concatMapStrings (u: "machine.wait_for_unit(\"${u}\")\n") units}
      with subtest("n8n's health route answers through nginx"):
          machine.wait_until_succeeds(curl + url + "healthz | jq -e '.status == \"ok\"'")

      with subtest("its readiness route answers: the database is connected and migrated"):
          machine.wait_until_succeeds(curl + url + "healthz/readiness | jq -e '.status == \"ok\"'")
    '';
}
