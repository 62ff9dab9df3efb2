# What every service module test (module-node.nix) and profile test (profile.nix) gives its node:
# secrets from test fixtures instead of config/secrets.yaml, Penpot's images without a registry, and
# the adjustments a VM without network needs.
#
# Secrets take the image's path: every secret the enabled modules declare (sops.secrets) gets a
# test-only value, the SHA-256 of "rave test fixture <name>" (GitLab's OpenID Connect signing key is
# an RSA key made in the build instead). The build encrypts them into a SOPS file with an age key it
# generates itself; rave-sops-age-key installs that key (from the Nix store here, where the launcher
# passes a credential) and sops-install-secrets writes /run/secrets with each secret's owner, as in
# the image. Neither the values nor a key are in the repository.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  names = builtins.attrNames config.sops.secrets;
  fixture = name: builtins.hashString "sha256" "rave test fixture ${name}";
  rsaKeyNames = builtins.filter (n: builtins.elem n [ "gitlab/jws" ]) names;
  # sops-nix reads the secret "gitlab/secret" from the nested key gitlab: secret:.
  plain = lib.foldl' lib.recursiveUpdate { } (map (n: lib.setAttrByPath (lib.splitString "/" n) (fixture n)) names);
  fixtures =
    pkgs.runCommand "rave-test-secrets"
      {
        nativeBuildInputs = [
          pkgs.age
          pkgs.sops
          pkgs.jq
          pkgs.openssl
        ];
        plain = builtins.toJSON plain;
        passAsFile = [ "plain" ];
      }
      ''
        export HOME="$TMPDIR"
        mkdir "$out"
        age-keygen -o "$out/age-key.txt"
        cp "$plainPath" secrets.json
        ${lib.concatMapStrings (n: ''
          openssl genrsa 2048 > rsa.pem
          jq --rawfile pem rsa.pem ${lib.escapeShellArg "setpath(${builtins.toJSON (lib.splitString "/" n)}; $pem)"} secrets.json > next.json
          mv next.json secrets.json
        '') rsaKeyNames}
        sops --encrypt --age "$(age-keygen -y "$out/age-key.txt")" --input-type json --output-type yaml secrets.json > "$out/secrets.yaml"
      '';

  penpot = config.services.rave.penpot;
  pins = builtins.fromJSON (builtins.readFile ../modules/services/penpot/images.json);
  penpotImage =
    container:
    let
      pin = pins.${container};
      image = config.virtualisation.oci-containers.containers."penpot-${container}".image;
    in
    if "${pin.finalImageName}:${pin.finalImageTag}" != image then
      throw "infra/nixos/modules/services/penpot/images.json pins ${pin.finalImageName}:${pin.finalImageTag}, but the penpot-${container} container runs ${image}: pin that image (see the file's _comment)."
    else if (pin.imageDigest or null) == null then
      # Fails the build, not the evaluation, so the other checks still evaluate.
      pkgs.runCommand "penpot-${container}-image-not-pinned" { } ''
        echo ${lib.escapeShellArg "infra/nixos/modules/services/penpot/images.json has no digest and hash for ${image} yet: the VM test cannot pull it. See the file's _comment."} >&2
        exit 1
      ''
    else
      pkgs.dockerTools.pullImage pin;
in
{
  # base.nix and the test framework (nixos/lib/testing/network.nix) both give a mkDefault host name.
  networking.hostName = "machine";
  # The test VM's root file system fills an unpartitioned disk: there is no partition to grow.
  boot.growPartition = false;
  environment.systemPackages = [
    pkgs.curl
    pkgs.jq
  ];

  security.rave.sopsBootstrap = {
    secretsFile = "${fixtures}/secrets.yaml";
    userKeyFile = "${fixtures}/age-key.txt";
  };
  # sops-nix would read the file at evaluation time, and it is a build output.
  sops.validateSopsFiles = false;

  # As in nixpkgs' Mattermost test (nixos/tests/mattermost): without network, fetching notices times out.
  services.mattermost.settings = lib.mkIf config.services.rave.mattermost.enable {
    AnnouncementSettings = {
      AdminNoticesEnabled = false;
      UserNoticesEnabled = false;
    };
    PluginSettings.AutomaticPrepackagedPlugins = false;
  };

  services.rave.penpot.imageFiles = lib.mkIf penpot.enable (
    lib.genAttrs [
      "backend"
      "exporter"
      "frontend"
    ] penpotImage
  );
}
