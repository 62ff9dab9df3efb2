# services.rave.penpot: Penpot (frontend, backend, exporter) as OCI containers on the host network,
# behind nginx on its own host name (default penpot.<services.rave.hostName>): Penpot's supported
# deployment owns the site root, so its profile.json path (default /penpot/) redirects there.
# nixpkgs has no Penpot module, so the images are pulled on first start (the guest needs network
# then; imageFiles loads them from archives instead, as the VM tests do); pin them by tag or digest.
# PostgreSQL over TCP as role "penpot" (password set at boot from databasePasswordFile); Valkey local.
# The containers' secrets reach them through an environment file written at boot from the *File
# inputs into /run/penpot (root only), never through the Nix store or a command line.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.rave.penpot;
  rave = config.services.rave;
  path = rave.servicePaths.Penpot or "/penpot/";
  serviceHost = import ../../../lib/service-host.nix { inherit rave; };
  envFile = "/run/penpot/secrets.env";
  common = {
    PENPOT_PUBLIC_URI = cfg.publicUrl;
    PENPOT_FLAGS = lib.concatStringsSep " " cfg.flags;
  };
  units = map (c: "podman-penpot-${c}.service") [
    "backend"
    "frontend"
    "exporter"
  ];
in
{
  options.services.rave.penpot = {
    enable = lib.mkEnableOption "Penpot design tool";
    version = lib.mkOption {
      type = lib.types.str;
      default = "2.17.2";
      description = "Tag of the penpotapp/{frontend,backend,exporter} images (a @sha256 digest suffix pins them fully).";
    };
    hostName = lib.mkOption {
      type = lib.types.str;
      default = "penpot.${rave.hostName}";
      defaultText = lib.literalExpression ''"penpot.''${services.rave.hostName}"'';
      description = "Host name of Penpot's own virtual host (it needs a DNS entry unless it ends in .localhost).";
    };
    publicUrl = lib.mkOption {
      type = lib.types.str;
      default = serviceHost.originOf cfg.hostName;
      defaultText = lib.literalExpression ''"https://''${hostName}:<port of services.rave.publicBaseUrl>"'';
      description = "PENPOT_PUBLIC_URI: the URL users reach Penpot under.";
    };
    frontendPort = lib.mkOption {
      type = lib.types.port;
      default = 8080;
      description = "Port the frontend container listens on (host network; 8080 in the upstream image); nginx proxies to it.";
    };
    flags = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [
        "enable-login-with-password"
        "disable-registration"
        "disable-email-verification"
      ];
      description = "PENPOT_FLAGS.";
    };
    databasePasswordFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/penpot/db-password";
      description = "File with the password of PostgreSQL role penpot (default: sops secret penpot/db-password).";
    };
    secretKeyFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/penpot/secret-key";
      description = "File with PENPOT_SECRET_KEY (default: sops secret penpot/secret-key).";
    };
    imageFiles = lib.mkOption {
      type = lib.types.attrsOf lib.types.package;
      default = { };
      example = lib.literalExpression ''{ frontend = pkgs.dockerTools.pullImage { imageName = "penpotapp/frontend"; ... }; }'';
      description = ''
        Image archives to load instead of pulling, by container (backend, exporter, frontend). Each
        must hold the image the container runs (docker.io/penpotapp/<name>:<version>). The VM tests
        set them: a test VM has no network.
      '';
    };
    useSops = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Declare the sops-nix secrets penpot/* that the default *File paths point at.";
    };
    resources = {
      backendMemory = lib.mkOption {
        type = lib.types.str;
        default = "2g";
        description = "Memory limit of the backend container (podman --memory).";
      };
      exporterMemory = lib.mkOption {
        type = lib.types.str;
        default = "1g";
        description = "Memory limit of the exporter container (podman --memory).";
      };
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
  {
    sops.secrets = lib.mkIf cfg.useSops {
      # penpot-secrets-env writes the containers' environment file, read when they start.
      "penpot/db-password".restartUnits = [
        "rave-postgresql-password-penpot.service"
        "penpot-secrets-env.service"
      ]
      ++ units;
      "penpot/secret-key".restartUnits = [ "penpot-secrets-env.service" ] ++ units;
    };

    services.postgresql = {
      ensureDatabases = [ "penpot" ];
      ensureUsers = [
        {
          name = "penpot";
          ensureDBOwnership = true;
        }
      ];
    };
    services.rave.postgresql.rolePasswords.penpot = {
      passwordFile = cfg.databasePasswordFile;
      before = units;
    };
    services.redis.servers.penpot = {
      enable = true;
      port = 6379;
      bind = "127.0.0.1";
    };

    systemd.services.penpot-secrets-env = {
      description = "Write the Penpot containers' secret environment file";
      before = units;
      requiredBy = units;
      wants = [ "sops-install-secrets.service" ];
      after = [ "sops-install-secrets.service" ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        RuntimeDirectory = "penpot";
        RuntimeDirectoryMode = "0700";
        RuntimeDirectoryPreserve = true;
        UMask = "0077";
        LoadCredential = [
          "db-password:${cfg.databasePasswordFile}"
          "secret-key:${cfg.secretKeyFile}"
        ];
      };
      script = ''
        {
          printf 'PENPOT_DATABASE_PASSWORD=%s\n' "$(${pkgs.coreutils}/bin/cat "$CREDENTIALS_DIRECTORY/db-password")"
          printf 'PENPOT_SECRET_KEY=%s\n' "$(${pkgs.coreutils}/bin/cat "$CREDENTIALS_DIRECTORY/secret-key")"
        } > ${envFile}
      '';
    };

    virtualisation.podman.enable = true;
    virtualisation.oci-containers.backend = "podman";
    virtualisation.oci-containers.containers = {
      penpot-backend = {
        image = "docker.io/penpotapp/backend:${cfg.version}";
        imageFile = cfg.imageFiles.backend or null;
        environment = common // {
          PENPOT_DATABASE_URI = "postgresql://127.0.0.1:5432/penpot";
          PENPOT_DATABASE_USERNAME = "penpot";
          PENPOT_REDIS_URI = "redis://127.0.0.1:6379/0";
          PENPOT_ASSETS_STORAGE_BACKEND = "assets-fs";
          PENPOT_STORAGE_ASSETS_FS_DIRECTORY = "/opt/data/assets";
          PENPOT_HTTP_SERVER_PORT = "6060";
        };
        environmentFiles = [ envFile ];
        volumes = [ "/var/lib/penpot/assets:/opt/data/assets" ];
        extraOptions = [
          "--network=host"
          "--memory=${cfg.resources.backendMemory}"
        ];
      };
      penpot-exporter = {
        image = "docker.io/penpotapp/exporter:${cfg.version}";
        imageFile = cfg.imageFiles.exporter or null;
        environment = common // {
          # The exporter renders pages from the frontend directly, as in Penpot's own compose file.
          PENPOT_PUBLIC_URI = "http://127.0.0.1:${toString cfg.frontendPort}";
          PENPOT_REDIS_URI = "redis://127.0.0.1:6379/0";
          PENPOT_HTTP_SERVER_PORT = "6061";
        };
        extraOptions = [
          "--network=host"
          "--memory=${cfg.resources.exporterMemory}"
        ];
      };
      penpot-frontend = {
        image = "docker.io/penpotapp/frontend:${cfg.version}";
        imageFile = cfg.imageFiles.frontend or null;
        environment = common // {
          PENPOT_BACKEND_URI = "http://127.0.0.1:6060";
          PENPOT_EXPORTER_URI = "http://127.0.0.1:6061";
        };
        volumes = [ "/var/lib/penpot/assets:/opt/data/assets" ];
        dependsOn = [
          "penpot-backend"
          "penpot-exporter"
        ];
        extraOptions = [ "--network=host" ];
      };
    };
    # The backend writes and the frontend serves the assets as user and group penpot (1001) of the
    # images (Dockerfile.backend and Dockerfile.frontend in penpot/penpot's docker/images).
    systemd.tmpfiles.rules = [ "d /var/lib/penpot/assets 0750 1001 1001 -" ];
  }
  (serviceHost.mkServiceHost {
    name = "rave-penpot";
    inherit (cfg) hostName;
    inherit path;
    url = "${cfg.publicUrl}/";
    locations."/" = {
      proxyPass = "http://127.0.0.1:${toString cfg.frontendPort}";
      proxyWebsockets = true;
      extraConfig = "client_max_body_size 350m;";
    };
  })
  ]);
}
