# checks.<system>.module-penpot: services.rave.penpot alone on base.nix: its containers from the
# images pinned in images.json (a test VM cannot pull), PostgreSQL over TCP (role password set at
# boot), Valkey local, secrets from test fixtures (infra/nixos/tests/node.nix). Checks the backend's
# readiness (database and Redis) and that nginx serves Penpot's frontend on its own host name.
# nixpkgs has no Penpot test; the memory covers the backend's and exporter's container limits
# (services.rave.penpot.resources) next to PostgreSQL and nginx, the disk the images.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;
  units = (import ../../../lib/service-units.nix).features.penpot;
in
pkgs.testers.runNixOSTest {
  name = "rave-module-penpot";

  nodes.machine = {
    imports = [
      sopsModule
      (import ../../../tests/module-node.nix { feature = "penpot"; })
    ];
    services.rave.penpot.enable = true;
    virtualisation = {
      memorySize = 6144;
      cores = 2;
      diskSize = 8192;
    };
  };

  testScript =
    { nodes, ... }:
    ''
      url = "${nodes.machine.services.rave.penpot.publicUrl}"
      curl = "curl --silent --show-error --fail --insecure "

      ${lib.concatMapStrings (u: "machine.wait_for_unit(\"${u}\")\n") units}
      with subtest("the backend is ready: database and Redis reachable"):
          machine.wait_until_succeeds("curl --silent --fail http://127.0.0.1:6060/readyz")

      with subtest("nginx serves Penpot's frontend on its own host name"):
          machine.wait_until_succeeds(curl + url + "/ | grep -qi penpot")

      with subtest("its profile path redirects to its host name"):
          machine.succeed(
              "curl --silent --insecure --output /dev/null --write-out '%{redirect_url}' https://localhost/penpot/"
              + " | grep -qxF " + url + "/"
          )
    '';
}
