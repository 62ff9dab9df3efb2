# The fast smoke test of the base configuration, run once for all profiles: checks.<system>.module-configs
# (also checks.<system>.minimal-test). Boots base.nix with the production profile's metadata and every
# optional service off, and checks that PostgreSQL, nginx and HTTPS (with the self-signed certificate
# generated at first boot) are alive, that the files nginx reads have the right owners and modes, that
# the welcome dashboard lists only what is enabled, and that nx-nixos-reload-credentials (the guest side
# of `nx run <profile>:secrets`) leaves an unchanged secrets file alone and refuses other credentials.
# The node imports base.nix, not profiles/production/profile.nix: runNixOSTest hands the node a
# read-only pkgs (node.pkgs, so node.pkgsReadOnly), and the profile's configs/nixpkgs.nix would define
# nixpkgs.config. tools/checks/test-nodes.spec.ts keeps every nixpkgs.* definition out of the imports
# of a test whose pkgs is read-only.
# Run: nix build .#checks.x86_64-linux.module-configs
{ pkgs, sopsModule }:
pkgs.testers.runNixOSTest {
  name = "rave-minimal";

  nodes.machine =
    { pkgs, ... }:
    let
      production = builtins.fromJSON (builtins.readFile ../../../profiles/production/profile.json);
    in
    {
      imports = [
        sopsModule
        ./base.nix
      ];
      # The services.rave.<service>.enable options default to off; the metadata says so too, so the
      # dashboard agrees with what runs.
      rave.profile = production // {
        features = builtins.mapAttrs (_: _: false) production.features;
      };
      # base.nix and the test framework (nixos/lib/testing/network.nix) both give a mkDefault host name.
      networking.hostName = "machine";
      # The test VM's root file system fills an unpartitioned disk: there is no partition to grow.
      boot.growPartition = false;
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

    # nginx (user nginx) reads the pair; the key is closed to everyone else.
    for path, expected in [
        ("/var/lib/rave", "755 root root"),
        ("/var/lib/rave/tls", "755 root root"),
        ("/var/lib/rave/tls/cert.pem", "644 root root"),
        ("/var/lib/rave/tls/key.pem", "640 root nginx"),
    ]:
        found = machine.succeed(f"stat -c '%a %U %G' {path}").strip()
        assert found == expected, f"{path}: {found}, expected {expected}"
    machine.succeed("runuser -u nginx -- cat /var/lib/rave/tls/cert.pem /var/lib/rave/tls/key.pem > /dev/null")
    machine.fail("runuser -u nobody -- cat /var/lib/rave/tls/key.pem")

    # The encrypted secrets file sops-nix reads, installed at boot from the image's copy; what
    # `nx run <profile>:secrets` runs: the same file again changes nothing and restarts nothing.
    found = machine.succeed("stat -c '%a %U %G' /var/lib/sops-nix/secrets.yaml").strip()
    assert found == "400 root root", f"/var/lib/sops-nix/secrets.yaml: {found}"
    machine.succeed("mkdir -p -m 0700 /run/nx-nixos/credentials && cp /var/lib/sops-nix/secrets.yaml /run/nx-nixos/credentials/sops-secrets")
    report = machine.succeed("nx-nixos-reload-credentials sops-secrets")
    assert report.strip() == "unchanged; nothing restarted", report
    machine.fail("test -e /run/nx-nixos/credentials/sops-secrets")
    machine.succeed("echo x > /run/nx-nixos/credentials/other")
    refused = machine.fail("nx-nixos-reload-credentials other 2>&1")
    assert "this guest applies the credentials sops-age-key and sops-secrets only" in refused, refused
  '';
}
