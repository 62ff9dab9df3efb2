# checks.<system>.module-mattermost: services.rave.mattermost alone on base.nix, with its database
# local (peer authentication, no password). Checks Mattermost's ping through nginx on its own host
# name, that it serves its public URL as its site URL, and the redirect from its profile path.
# As in nixpkgs' Mattermost test (nixos/tests/mattermost): default timeouts, and notices off
# (infra/nixos/tests/node.nix), which time out without network.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;
  units = (import ../../../lib/service-units.nix).features.mattermost;
in
pkgs.testers.runNixOSTest {
  name = "rave-module-mattermost";

  nodes.machine = {
    imports = [
      sopsModule
      (import ../../../tests/module-node.nix { feature = "mattermost"; })
    ];
    services.rave.mattermost.enable = true;
    virtualisation.memorySize = 2048;
  };

  testScript =
    { nodes, ... }:
    ''
      url = "${nodes.machine.services.rave.mattermost.publicUrl}"
      curl = "curl --silent --show-error --fail --insecure "

      ${lib.concatMapStrings (u: "machine.wait_for_unit(\"${u}\")\n") units}
      with subtest("Mattermost's ping answers OK through nginx on its own host name"):
          machine.wait_until_succeeds(curl + url + "/api/v4/system/ping | jq -e '.status == \"OK\"'")

      with subtest("its site URL is its public URL"):
          machine.succeed(curl + "'" + url + "/api/v4/config/client?format=old' | jq -e '.SiteURL == \"" + url + "\"'")

      with subtest("its profile path redirects to its host name"):
          machine.succeed(
              "curl --silent --insecure --output /dev/null --write-out '%{redirect_url}' https://localhost/mattermost/"
              + " | grep -qxF " + url + "/"
          )
    '';
}
