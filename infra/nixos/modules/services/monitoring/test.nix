# checks.<system>.module-monitoring: services.rave.monitoring alone on base.nix: Prometheus with its
# node exporter, Grafana on PostgreSQL over TCP (role password set at boot), secrets from test
# fixtures (infra/nixos/tests/node.nix). Checks Grafana's login page and health through nginx, that
# the admin password from its file signs in and sees the provisioned Prometheus data source, and
# that Prometheus has its node exporter target up.
# nixpkgs' Grafana and Prometheus tests (nixos/tests/grafana/basic.nix, nixos/tests/prometheus) set
# no memory and use default timeouts; this node also runs nginx and PostgreSQL, as the base
# configuration's test (configs/test.nix) does in 2 GiB.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;
  units = (import ../../../lib/service-units.nix).features.monitoring;
in
pkgs.testers.runNixOSTest {
  name = "rave-module-monitoring";

  nodes.machine = {
    imports = [
      sopsModule
      (import ../../../tests/module-node.nix { feature = "monitoring"; })
    ];
    services.rave.monitoring.enable = true;
    virtualisation.memorySize = 2048;
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.rave.monitoring;
    in
    ''
      grafana = "${lib.removeSuffix "/" cfg.grafana.publicUrl}"
      prometheus = "${lib.removeSuffix "/" cfg.prometheus.publicUrl}"
      curl = "curl --silent --show-error --fail --insecure "

      machine.wait_for_unit("rave-postgresql-password-grafana.service")
      ${lib.concatMapStrings (u: "machine.wait_for_unit(\"${u}\")\n") units}
      with subtest("Grafana's login page is served through nginx"):
          machine.wait_until_succeeds(curl + grafana + "/login | grep -q Grafana")

      with subtest("Grafana reaches its database"):
          machine.wait_until_succeeds(curl + grafana + "/api/health | jq -e '.database == \"ok\"'")

      with subtest("the admin password from its file signs in and sees the provisioned Prometheus data source"):
          machine.succeed(
              curl + "--user \"admin:$(cat ${cfg.grafana.adminPasswordFile})\" " + grafana + "/api/datasources/name/Prometheus"
              + " | jq -e '.type == \"prometheus\"'"
          )

      with subtest("Prometheus answers through nginx and has its node exporter target up"):
          machine.wait_until_succeeds(curl + prometheus + "/-/healthy")
          machine.wait_until_succeeds(
              curl + prometheus + "/api/v1/targets"
              + " | jq -e '[.data.activeTargets[] | select(.labels.job == \"node\") | .health] == [\"up\"]'"
          )
    '';
}
