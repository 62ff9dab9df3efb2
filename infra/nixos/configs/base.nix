# What every RAVE profile shares: the profile metadata as an option, nginx with TLS in front of
# every service, PostgreSQL, SSH with keys only, the welcome dashboard, the qcow2 image and the
# development VM (modules/dev-vm.nix).
# Service modules plug into this through services.rave.* options; nothing here holds a secret.
{
  config,
  lib,
  pkgs,
  modulesPath,
  ...
}:
let
  cfg = config.services.rave;
  profile = config.rave.profile;
  enabledServices = import ../lib/services.nix profile;
  httpsPort = (lib.findFirst (p: p.name == "https") { host = 443; } (profile.ports or [ ])).host;
  escape = lib.escapeXML;
  serviceItem =
    s:
    if s.scheme == "ssh" then
      "<li>${escape s.name}: <code>ssh -p ${toString (lib.findFirst (p: p.name == s.port) { host = 22; } profile.ports).host} root@localhost</code></li>"
    else
      "<li><a href=\"${escape s.path}\">${escape s.name}</a></li>";
  dashboard = pkgs.writeTextDir "index.html" ''
    <!doctype html>
    <html lang="en">
    <head><meta charset="utf-8"><title>RAVE ${escape profile.name}</title></head>
    <body>
    <h1>Welcome to RAVE (${escape profile.name})</h1>
    <p>${escape profile.description}</p>
    <ul id="services">
    ${lib.concatMapStringsSep "\n" serviceItem enabledServices}
    </ul>
    </body>
    </html>
  '';
  # The port of publicBaseUrl. When the launcher forwards a host port other than 443, the services'
  # own server-side calls to public URLs (OAuth token exchange, webhooks, Penpot's exporter) reach
  # the guest's loopback on that port, so nginx listens there too.
  publicPortMatch = builtins.match "https?://[^/:]+:([0-9]+)(/.*)?" cfg.publicBaseUrl;
  publicPort = if publicPortMatch == null then null else lib.toInt (builtins.head publicPortMatch);
  loopbackListen = lib.optionals (publicPort != null && publicPort != 443 && publicPort != 80) (
    map
      (addr: {
        inherit addr;
        port = publicPort;
        ssl = true;
      })
      ([ "127.0.0.1" ] ++ lib.optional config.networking.enableIPv6 "[::1]")
  );
  subjectAltNames = lib.concatStringsSep "," (
    map (n: "DNS:${n}") (lib.unique ([ cfg.hostName "localhost" ] ++ cfg.tls.extraHostNames)) ++ [ "IP:127.0.0.1" ]
  );
  roleUnit =
    role: spec:
    lib.nameValuePair "rave-postgresql-password-${role}" {
      description = "Set the PostgreSQL password of role ${role} from ${spec.passwordFile}";
      wantedBy = [ "multi-user.target" ];
      # postgresql.target is reached once postgresql-setup.service has created the ensureUsers roles.
      requires = [ "postgresql.target" ];
      wants = [ "sops-install-secrets.service" ];
      after = [
        "postgresql.target"
        "sops-install-secrets.service"
      ];
      before = spec.before;
      requiredBy = spec.before;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "postgres";
        LoadCredential = "password:${spec.passwordFile}";
      };
      path = [ config.services.postgresql.package ];
      # psql reads the password from the credential file itself (\set with a backtick command), so
      # it never appears in an argument list, the environment or the journal.
      script = ''
        psql --no-psqlrc --set=ON_ERROR_STOP=1 --dbname=postgres <<'SQL'
        \set pw `cat "$CREDENTIALS_DIRECTORY/password"`
        ALTER ROLE "${role}" WITH LOGIN PASSWORD :'pw';
        SQL
      '';
    };
in
{
  imports = [
    (modulesPath + "/profiles/qemu-guest.nix")
    ../modules/image.nix
    ../modules/dev-vm.nix
    ../modules/security/sops-bootstrap.nix
    ../modules/services/gitlab
    ../modules/services/mattermost
    ../modules/services/outline
    ../modules/services/n8n
    ../modules/services/penpot
    ../modules/services/monitoring
  ];

  options.rave.profile = lib.mkOption {
    type = lib.types.attrsOf lib.types.anything;
    description = "The profile's metadata: profiles/<name>/profile.json, read with builtins.fromJSON.";
  };

  options.services.rave = {
    hostName = lib.mkOption {
      type = lib.types.str;
      default = "localhost";
      description = "Host name users reach the VM under (the launcher forwards to 127.0.0.1).";
    };
    publicBaseUrl = lib.mkOption {
      type = lib.types.str;
      default = "https://${cfg.hostName}:${toString httpsPort}";
      defaultText = lib.literalExpression ''"https://''${hostName}:<host port of the https port in profile.json>"'';
      description = "Base URL of the HTTPS entry point as users see it; service URLs are this plus their path.";
    };
    servicePaths = lib.mkOption {
      type = lib.types.attrsOf lib.types.str;
      readOnly = true;
      default = lib.listToAttrs (map (s: lib.nameValuePair s.name (s.path or "/")) (profile.services or [ ]));
      defaultText = lib.literalMD "the `path` of every entry of profile.json `services`, by `name`";
      description = "URL path of each service listed in profile.json, by service name (e.g. GitLab = \"/gitlab/\").";
    };
    tls = {
      certificateFile = lib.mkOption {
        type = lib.types.str;
        default = "/var/lib/rave/tls/cert.pem";
        description = "PEM certificate nginx serves. When neither file exists at boot, a self-signed pair is generated.";
      };
      keyFile = lib.mkOption {
        type = lib.types.str;
        default = "/var/lib/rave/tls/key.pem";
        description = "PEM private key for certificateFile (readable by root and the nginx group only).";
      };
      extraHostNames = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        description = "Further host names nginx serves (services on their own virtual host); the self-signed certificate covers them.";
      };
    };
    unfreePackages = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "outline" ];
      description = ''
        Names (lib.getName) of unfree packages the enabled services need (Outline is BUSL-1.1, n8n
        is under the Sustainable Use License). Collected here so that the one allowUnfreePredicate
        of configs/nixpkgs.nix allows exactly these: two modules each setting
        nixpkgs.config.allowUnfreePredicate would override each other.
      '';
    };
    ssh.authorizedKeys = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Public keys allowed to log in as root over SSH (password login is disabled).";
    };
    postgresql.rolePasswords = lib.mkOption {
      default = { };
      description = ''
        PostgreSQL roles whose password is set at boot from a file (normally under /run/secrets,
        installed by sops-nix). Each gets a unit rave-postgresql-password-<role> ordered after
        PostgreSQL and sops-install-secrets and before the units in `before`.
      '';
      type = lib.types.attrsOf (
        lib.types.submodule {
          options = {
            passwordFile = lib.mkOption {
              type = lib.types.str;
              description = "File holding the password (one line).";
            };
            before = lib.mkOption {
              type = lib.types.listOf lib.types.str;
              default = [ ];
              description = "Units that need the password set before they start.";
            };
          };
        }
      );
    };
  };

  config = {
    system.stateVersion = lib.mkDefault "26.05";
    networking.hostName = lib.mkDefault "rave-${profile.name}";
    networking.firewall.allowedTCPPorts = [
      22
      80
      443
    ];

    # Root file system and boot loader as the qemu image builder lays them out; the image module
    # (system.build.images.qemu) overrides these with the same values.
    fileSystems."/" = lib.mkDefault {
      device = "/dev/disk/by-label/nixos";
      fsType = "ext4";
      autoResize = true;
    };
    boot.loader.grub.device = lib.mkDefault "/dev/vda";
    boot.growPartition = lib.mkDefault true;
    boot.kernelParams = [ "console=ttyS0,115200" ];

    users.users.root.openssh.authorizedKeys.keys = cfg.ssh.authorizedKeys;
    # The SSH identity nx-nixos gives each VM instance (docs/explanation/ssh-into-a-vm.md): systemd-tmpfiles
    # writes root's authorized key from the systemd credential ssh.authorized_keys.root (which
    # systemd-tmpfiles-setup.service imports; NixOS does not ship systemd's provision.conf, which would
    # write it to ~/.ssh) and the host key from nx-nixos.ssh.host_key. A line whose credential was not
    # passed is skipped, so an image booted any other way keeps its generated host key and the keys above.
    systemd.tmpfiles.settings."10-rave-ssh-credentials" = {
      "/run/rave-ssh".d = {
        mode = "0700";
        user = "root";
        group = "root";
      };
      "/run/rave-ssh/authorized_keys.root"."f+^" = {
        mode = "0600";
        user = "root";
        group = "root";
        argument = "ssh.authorized_keys.root";
      };
      "/etc/ssh/ssh_host_ed25519_key"."f+^" = {
        mode = "0600";
        user = "root";
        group = "root";
        argument = "nx-nixos.ssh.host_key";
      };
    };
    services.openssh = {
      enable = true;
      # Read besides NixOS's own files (/etc/ssh/authorized_keys.d/%u, from rave.ssh.authorizedKeys).
      authorizedKeysFiles = [ "/run/rave-ssh/authorized_keys.%u" ];
      settings = {
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        PermitRootLogin = "prohibit-password";
      };
    };

    # The PostgreSQL major version follows system.stateVersion (NixOS's default for that release).
    services.postgresql.enable = true;
    systemd.services = lib.mapAttrs' roleUnit cfg.postgresql.rolePasswords // {
      # The host key credential of the tmpfiles rule above (ssh.authorized_keys.root is imported upstream).
      systemd-tmpfiles-setup.serviceConfig.ImportCredential = [ "nx-nixos.ssh.host_key" ];
      rave-tls-selfsigned = {
        description = "Generate a self-signed TLS certificate for nginx when none is installed";
        wantedBy = [ "multi-user.target" ];
        before = [ "nginx.service" ];
        requiredBy = [ "nginx.service" ];
        unitConfig.ConditionPathExists = "!${cfg.tls.keyFile}";
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          UMask = "0077";
        };
        path = [
          pkgs.openssl
          pkgs.coreutils
        ];
        # nginx runs as its own user (its preStart `nginx -t` too): every folder on the way to the pair
        # must be traversable (created here with umask 0022), the key readable by its group only.
        script = ''
          (umask 0022 && mkdir -p "$(dirname ${lib.escapeShellArg cfg.tls.keyFile})" "$(dirname ${lib.escapeShellArg cfg.tls.certificateFile})")
          openssl req -x509 -newkey rsa:3072 -nodes -days 825 \
            -subj "/CN=${cfg.hostName}" -addext ${lib.escapeShellArg "subjectAltName=${subjectAltNames}"} \
            -keyout ${lib.escapeShellArg cfg.tls.keyFile} -out ${lib.escapeShellArg cfg.tls.certificateFile}
          chgrp ${lib.escapeShellArg config.services.nginx.group} ${lib.escapeShellArg cfg.tls.keyFile}
          chmod 0640 ${lib.escapeShellArg cfg.tls.keyFile}
          chmod 0644 ${lib.escapeShellArg cfg.tls.certificateFile}
        '';
      };
    };

    services.nginx = {
      enable = true;
      recommendedTlsSettings = true;
      recommendedProxySettings = true;
      recommendedGzipSettings = true;
      recommendedOptimisation = true;
      # Every virtual host: HTTP (redirect) and HTTPS on all addresses, plus HTTPS on the public port
      # on loopback (see loopbackListen).
      defaultListen = lib.mkIf (loopbackListen != [ ]) (
        [
          { addr = "0.0.0.0"; }
        ]
        ++ lib.optional config.networking.enableIPv6 { addr = "[::0]"; }
        ++ loopbackListen
      );
      virtualHosts.rave = {
        default = true;
        serverName = cfg.hostName;
        forceSSL = true;
        sslCertificate = cfg.tls.certificateFile;
        sslCertificateKey = cfg.tls.keyFile;
        locations."= /" = {
          root = dashboard;
          tryFiles = "/index.html =404";
        };
        locations."= /healthz".return = "200 'ok\\n'";
      };
    };
  };
}
