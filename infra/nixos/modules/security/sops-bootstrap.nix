# security.rave.sopsBootstrap: where the age key that decrypts config/secrets.yaml comes from,
# and where sops-nix reads the encrypted file. The image never contains the key. At boot,
# rave-sops-age-key.service installs it from
#   1. the systemd credential `credentialName` (the launcher passes it over QEMU fw_cfg as
#      opt/io.systemd.credentials/<name>; systemd imports it into the system credential store), or
#   2. `userKeyFile` (~/.config/sops/age/keys.txt of root, for machines provisioned by hand),
# and installs the encrypted file as `runtimeSecretsFile` from the credential `secretsCredentialName`,
# else from the image's copy of `secretsFile`. sops-install-secrets.service (sops-nix) decrypts it into
# /run/secrets afterwards.
# While the VM runs, `nx run <profile>:secrets` stages new credentials over SSH and runs
# nx-nixos-reload-credentials (below): it installs a changed key or file, runs sops-install-secrets
# again (which restarts the restartUnits of each secret whose decrypted file changed) and reports the
# changed secret names and those units. docs/adr/0003-secrets-into-a-running-vm.md says why.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.security.rave.sopsBootstrap;
  # The secrets sops-nix installs as files, one line each: name, path, the units it restarts when the
  # file changes (names, paths and unit names hold no spaces).
  secretLines = lib.concatMapStrings (s: "${s.name} ${s.path} ${toString s.restartUnits}\n") (
    builtins.attrValues config.sops.secrets
  );
  reloadCredentials = pkgs.writeShellApplication {
    name = "nx-nixos-reload-credentials";
    runtimeInputs = [
      pkgs.coreutils
      config.systemd.package
    ];
    text = ''
      # nx-nixos-reload-credentials NAME...: applies what `nx run <profile>:secrets` staged in
      # /run/nx-nixos/credentials (root only). Prints what changed (names, never values) and what
      # sops-nix restarted.
      umask 077
      staged=/run/nx-nixos/credentials
      destination() {
        case "$1" in
          ${lib.escapeShellArg cfg.credentialName}) echo ${lib.escapeShellArg cfg.keyFile} ;;
          ${lib.escapeShellArg cfg.secretsCredentialName}) echo ${lib.escapeShellArg cfg.runtimeSecretsFile} ;;
          *) return 1 ;;
        esac
      }
      digest() { if [ -f "$1" ]; then sha256sum < "$1" | cut -d' ' -f1; fi; }
      for name in "$@"; do
        if ! destination "$name" > /dev/null; then
          rm -f -- "''${@/#/$staged/}"
          echo "$name: this guest applies the credentials ${cfg.credentialName} and ${cfg.secretsCredentialName} only; nothing was installed" >&2
          exit 2
        fi
      done
      installed=0
      for name in "$@"; do
        dest=$(destination "$name")
        if [ "$(digest "$staged/$name")" != "$(digest "$dest")" ]; then
          mkdir -p "$(dirname "$dest")"
          install -m 0400 "$staged/$name" "$dest"
          installed=1
        fi
        rm -f -- "$staged/$name"
      done
      if [ "$installed" = 0 ]; then
        echo "unchanged; nothing restarted"
        exit 0
      fi
      secrets=${lib.escapeShellArg secretLines}
      if [ -z "$secrets" ]; then
        echo "changed: no secret (this system declares none); nothing restarted"
        exit 0
      fi
      declare -A before=()
      while read -r name path _; do
        [ -n "$name" ] || continue
        before[$name]=$(digest "$path")
      done <<< "$secrets"
      # It compares each secret with the installed one and runs systemctl try-restart on the
      # restartUnits of those that differ.
      systemctl restart sops-install-secrets.service
      changed=()
      units=()
      while read -r name path restart; do
        [ -n "$name" ] || continue
        if [ "''${before[$name]}" != "$(digest "$path")" ]; then
          changed+=("$name")
          read -r -a restart_units <<< "$restart"
          for unit in "''${restart_units[@]}"; do
            [[ " ''${units[*]} " == *" $unit "* ]] || units+=("$unit")
          done
        fi
      done <<< "$secrets"
      if [ ''${#changed[@]} -eq 0 ]; then
        echo "changed: no secret (the files decrypt as before); nothing restarted"
      else
        echo "changed: ''${changed[*]}"
        echo "restarted: ''${units[*]:-nothing}"
      fi
    '';
  };
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
    secretsCredentialName = lib.mkOption {
      type = lib.types.strMatching "[A-Za-z0-9._-]+";
      default = "sops-secrets";
      description = "Name of the systemd credential that may replace the image's copy of secretsFile (the encrypted file).";
    };
    runtimeSecretsFile = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/sops-nix/secrets.yaml";
      description = "Where the encrypted file is installed at boot and by nx-nixos-reload-credentials, and where sops-nix reads it (outside the store, so it can change while the VM runs).";
    };
    keyFile = lib.mkOption {
      type = lib.types.str;
      default = "/var/lib/sops-nix/key.txt";
      description = "Where the key is installed (root only, 0400) and where sops-nix reads it.";
    };
  };

  config = lib.mkIf cfg.enable {
    sops = {
      # A path outside the store, so that a running VM can get a new file: sops-nix then cannot
      # check the file at evaluation time.
      defaultSopsFile = cfg.runtimeSecretsFile;
      validateSopsFiles = false;
      defaultSopsFormat = "yaml";
      age.keyFile = cfg.keyFile;
      age.sshKeyPaths = [ ];
      gnupg.sshKeyPaths = [ ];
      # A unit (not an activation script), so it can wait for the key unit below.
      useSystemdActivation = true;
    };

    environment.systemPackages = [ reloadCredentials ];

    systemd.services.rave-sops-age-key = {
      description = "Install the SOPS age key from a systemd credential or ${cfg.userKeyFile}, and the encrypted secrets file";
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
        ImportCredential = [
          cfg.credentialName
          cfg.secretsCredentialName
        ];
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
        secrets=${lib.escapeShellArg cfg.runtimeSecretsFile}
        secretsCred="''${CREDENTIALS_DIRECTORY:-/nonexistent}/${cfg.secretsCredentialName}"
        mkdir -p "$(dirname "$secrets")"
        if [ -s "$secretsCred" ]; then
          install -m 0400 "$secretsCred" "$secrets"
          echo "secrets file installed from credential ${cfg.secretsCredentialName}"
        else
          install -m 0400 ${cfg.secretsFile} "$secrets"
          echo "secrets file installed from the image"
        fi
      '';
    };

    systemd.services.sops-install-secrets = lib.mkIf (config.sops.secrets != { }) {
      after = [ "rave-sops-age-key.service" ];
      requires = [ "rave-sops-age-key.service" ];
    };
  };
}
