# Boots the production profile with every optional service off and checks that PostgreSQL, nginx
# and HTTPS (with the self-signed certificate generated at first boot) are alive, and that the
# welcome dashboard lists only what is enabled.
# Run: nix build .#checks.x86_64-linux.minimal-test  (or: npx nx run production:vm-test)
{ pkgs, sopsModule }:
pkgs.testers.runNixOSTest {
  name = "rave-minimal";

  nodes.machine =
    { lib, pkgs, ... }:
    let
      production = builtins.fromJSON (builtins.readFile ../../../profiles/production/profile.json);
    in
    {
      imports = [
        sopsModule
        ../../../profiles/production/profile.nix
      ];
      # Optional services off, in the metadata too, so the dashboard agrees with what runs.
      rave.profile = lib.mkForce (production // { features = lib.mapAttrs (_: _: false) production.features; });
      services.rave = {
        gitlab.enable = lib.mkForce false;
        mattermost.enable = lib.mkForce false;
        outline.enable = lib.mkForce false;
        n8n.enable = lib.mkForce false;
        penpot.enable = lib.mkForce false;
        monitoring.enable = lib.mkForce false;
      };
      virtualisation.memorySize = 2048;
      environment.systemPackages = [ pkgs.curl ];
    };

  testScript = ''
    machine.wait_for_unit("rave-sops-age-key.service")
    machine.wait_for_unit("postgresql.service")
    machine.succeed("runuser -u postgres -- psql --no-psqlrc -tAc 'SELECT 1' | grep -qx 1")

    machine.wait_for_unit("rave-tls-selfsigned.service")
    machine.wait_for_unit("nginx.service")
    machine.wait_for_open_port(443)
    machine.succeed("curl --fail --silent --insecure https://localhost/healthz | grep -qx ok")
    # The public port of profile.json (8443) is served on loopback too, for server-side calls to public URLs.
    machine.succeed("curl --fail --silent --insecure https://localhost:8443/healthz | grep -qx ok")
    machine.succeed("curl --silent --output /dev/null --write-out '%{http_code}' http://localhost/ | grep -qx 301")

    page = machine.succeed("curl --fail --silent --insecure https://localhost/")
    assert "Welcome to RAVE (production)" in page, page
    listed = page.split('<ul id="services">', 1)[1].split("</ul>", 1)[0]
    assert 'href="/"' in listed, listed
    for disabled in ["GitLab", "Mattermost", "Outline", "n8n", "Penpot", "Grafana", "Prometheus"]:
        assert disabled not in listed, f"{disabled} is off but the dashboard lists it"

    machine.succeed("stat -c %a /var/lib/rave/tls/key.pem | grep -qx 640")
  '';
}
