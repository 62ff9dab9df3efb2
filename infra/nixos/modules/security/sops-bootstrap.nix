# security.rave.sopsBootstrap: where the age key that decrypts config/secrets.yaml comes from.
# The image never contains it. At boot, rave-sops-age-key.service installs it from
#   1. the systemd credential `credentialName` (the launcher passes it over QEMU fw_cfg as
#      opt/io.systemd.credentials/<name>; systemd imports it into the system credential store), or
#   2. `userKeyFile` (~/.config/sops/age/keys.txt of root, for machines provisioned by hand),
# and sops-install-secrets.service (sops-nix) decrypts the secrets into /run/secrets afterwards.
{ config, lib, ... }:
let
  cfg = config.security.rave.sopsBootstrap;
in
{
  options.security.rave.sopsBootstrap = {
    enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Install the age key at boot and decrypt secretsFile with sops-nix.";
    };
    secretsFile = lib.mkOption {
      type = lib.types.path;
      default = ../../../../config/secrets.yaml;
      defaultText = lib.literalExpression "./config/secrets.yaml";
      description = "SOPS-encrypted YAML with the secrets (only the encrypted file enters the Nix store).";
    };
    credentialName = lib.mkOption {
      type = lib.types.strMatching "[A-Za-z0-9._-]+";
      default = "sops-age-key";
      description = "Name of the systemd credential holding the age private key.";
    };
    userKeyFile = lib.mkOption {
      type = lib.types.str;
      default = "/root/.config/sops/age/keys.txt";
      description = "Fallback age key file when no credential was passed.";
    };
    keyFile = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/sops-nix/key.txt";
      description = "Where the key is installed (root only, 0400) and where sops-nix reads it.";
    };
  };

  config = lib.mkIf cfg.enable {
    sops = {
      defaultSopsFile = cfg.secretsFile;
      defaultSopsFormat = "yaml";
      age.keyFile = cfg.keyFile;
      age.sshKeyPaths = [ ];
      gnupg.sshKeyPaths = [ ];
      # A unit (not an activation script), so it can wait for the key unit below.
      useSystemdActivation = true;
    };

    systemd.services.rave-sops-age-key = {
      description = "Install the SOPS age key from a systemd credential or ${cfg.userKeyFile}";
      wantedBy = [ "sysinit.target" ];
      before = [
        "sops-install-secrets.service"
        "sysinit.target"
      ];
      after = [ "local-fs.target" ];
      unitConfig.DefaultDependencies = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
        # ImportCredential (unlike LoadCredential) does not fail the unit when the credential is absent.
        ImportCredential = cfg.credentialName;
      };
      script = ''
        key=${lib.escapeShellArg cfg.keyFile}
        cred="''${CREDENTIALS_DIRECTORY:-/nonexistent}/${cfg.credentialName}"
        mkdir -p "$(dirname "$key")"
        if [ -s "$cred" ]; then
          install -m 0400 "$cred" "$key"
          echo "age key installed from credential ${cfg.credentialName}"
        elif [ -s ${lib.escapeShellArg cfg.userKeyFile} ]; then
          install -m 0400 ${lib.escapeShellArg cfg.userKeyFile} "$key"
          echo "age key installed from ${cfg.userKeyFile}"
        elif [ -s "$key" ]; then
          echo "age key already installed at $key"
        else
          echo "no age key: pass credential ${cfg.credentialName} or create ${cfg.userKeyFile}; secrets stay unavailable" >&2
        fi
      '';
    };

    systemd.services.sops-install-secrets = lib.mkIf (config.sops.secrets != { }) {
      after = [ "rave-sops-age-key.service" ];
      requires = [ "rave-sops-age-key.service" ];
    };
  };
}
