# checks.<system>.module-gitlab: services.rave.gitlab alone on base.nix, with its database local and
# its secrets from test fixtures (infra/nixos/tests/node.nix). Checks GitLab's health endpoint and its
# API version through nginx on GitLab's own host name, and the redirect from its profile path.
# Memory, CPUs, the store image and Sidekiq's concurrency as in nixpkgs' GitLab test
# (nixos/tests/gitlab/gitlab.nix); its timeouts are the test driver's defaults, as there.
{ pkgs, sopsModule }:
let
  inherit (pkgs) lib;
  units = (import ../../../lib/service-units.nix).features.gitlab;
  # A personal access token for root, made the way GitLab's documentation makes one for automation.
  createToken = pkgs.writeText "rave-test-gitlab-token.rb" ''
    token = User.find_by_username('root').personal_access_tokens.create(scopes: ['read_api'], name: 'rave VM test', expires_at: 1.day.from_now)
    token.set_token(File.read('/tmp/gitlab-token').strip)
    token.save!
  '';
in
pkgs.testers.runNixOSTest {
  name = "rave-module-gitlab";

  nodes.machine = {
    imports = [
      sopsModule
      (import ../../../tests/module-node.nix { feature = "gitlab"; })
    ];
    services.rave.gitlab = {
      enable = true;
      resources.sidekiqConcurrency = 1;
    };
    virtualisation = {
      memorySize = 6144;
      cores = 4;
      useNixStoreImage = true;
    };
  };

  testScript =
    { nodes, ... }:
    let
      cfg = nodes.machine.services.rave.gitlab;
    in
    ''
      url = "${lib.removeSuffix "/" cfg.publicUrl}"
      curl = "curl --silent --show-error --fail --insecure "

      ${lib.concatMapStrings (u: "machine.wait_for_unit(\"${u}\")\n") units}
      with subtest("GitLab's health check answers through nginx on its own host name"):
          machine.wait_until_succeeds(curl + url + "/-/health | grep -qx 'GitLab OK'")

      with subtest("the API answers with the version of the configured package"):
          machine.succeed("head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /tmp/gitlab-token && chmod 0644 /tmp/gitlab-token")
          machine.succeed("${pkgs.sudo}/bin/sudo -u gitlab -H \"$(command -v gitlab-rails)\" runner ${createToken}")
          machine.succeed(
              curl + "--header \"PRIVATE-TOKEN: $(cat /tmp/gitlab-token)\" " + url + "/api/v4/version"
              + " | jq -e '.version | startswith(\"${cfg.package.version}\")'"
          )

      with subtest("its profile path redirects to its host name"):
          machine.succeed(
              "curl --silent --insecure --output /dev/null --write-out '%{redirect_url}' https://localhost/gitlab/"
              + " | grep -qxF " + url + "/"
          )
    '';
}
