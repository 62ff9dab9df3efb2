# services.rave.gitlab: GitLab behind the shared nginx on its own host name (default
# gitlab.<services.rave.hostName>): nixpkgs' GitLab package precompiles its assets for the site root,
# so it cannot run under a path prefix. Its profile.json path (default /gitlab/) redirects there.
# Database: a local role over the Unix socket (peer authentication, no password). Every secret is a
# file; by default the sops-nix secrets gitlab/<name> from config/secrets.yaml under /run/secrets.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.rave.gitlab;
  rave = config.services.rave;
  path = rave.servicePaths.GitLab or "/gitlab/";
  serviceHost = import ../../../lib/service-host.nix { inherit rave; };
  secretNames = [
    "initial-root-password"
    "secret"
    "db"
    "otp"
    "jws"
    "active-record-primary-key"
    "active-record-deterministic-key"
    "active-record-salt"
  ];
  https = lib.hasPrefix "https://" cfg.publicUrl;
  explicitPort = builtins.match "https?://[^:/]+:([0-9]+)(/.*)?" cfg.publicUrl;
  publicPort = if explicitPort == null then (if https then 443 else 80) else lib.toInt (builtins.head explicitPort);
  secretOption =
    name: what:
    lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/gitlab/${name}";
      description = "File with ${what} (default: sops secret gitlab/${name}).";
    };
in
{
  options.services.rave.gitlab = {
    enable = lib.mkEnableOption "GitLab";
    package = lib.mkPackageOption pkgs "gitlab" { };
    hostName = lib.mkOption {
      type = lib.types.str;
      default = "gitlab.${rave.hostName}";
      defaultText = lib.literalExpression ''"gitlab.''${services.rave.hostName}"'';
      description = "Host name of GitLab's own virtual host (it needs a DNS entry unless it ends in .localhost).";
    };
    publicUrl = lib.mkOption {
      type = lib.types.str;
      default = "${serviceHost.originOf cfg.hostName}/";
      defaultText = lib.literalExpression ''"https://''${hostName}:<port of services.rave.publicBaseUrl>/"'';
      description = "URL users reach GitLab under, with a trailing slash (links in mails, clone URLs, OAuth redirects).";
    };
    initialRootPasswordFile = secretOption "initial-root-password" "the initial password of the root user";
    secretFile = secretOption "secret" "secret_key_base";
    dbFile = secretOption "db" "db_key_base (encrypts CI variables and tokens in the database)";
    otpFile = secretOption "otp" "otp_key_base";
    jwsFile = secretOption "jws" "the OpenID Connect signing key (RSA private key, PEM)";
    activeRecordPrimaryKeyFile = secretOption "active-record-primary-key" "the Active Record encryption primary key";
    activeRecordDeterministicKeyFile = secretOption "active-record-deterministic-key" "the Active Record encryption deterministic key";
    activeRecordSaltFile = secretOption "active-record-salt" "the Active Record key derivation salt";
    useSops = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Declare the sops-nix secrets gitlab/* (owned by the gitlab user) that the default *File paths point at.";
    };
    resources = {
      pumaWorkers = lib.mkOption {
        type = lib.types.ints.unsigned;
        default = 2;
        description = "Puma worker processes (each needs roughly 1 GiB of memory).";
      };
      sidekiqConcurrency = lib.mkOption {
        type = lib.types.ints.positive;
        default = 10;
        description = "Sidekiq threads for background jobs.";
      };
      memoryMax = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "6G";
        description = "systemd MemoryMax of the gitlab service (null: no limit).";
      };
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
  {
    sops.secrets = lib.mkIf cfg.useSops (
      lib.genAttrs (map (n: "gitlab/${n}") secretNames) (name: {
        owner = config.services.gitlab.user;
        # What reads it again when it changes (nx run <profile>:secrets): gitlab-db-config sets the
        # root password, gitlab-config writes the others into secrets.yml for GitLab and Sidekiq.
        restartUnits =
          if name == "gitlab/initial-root-password" then
            [ "gitlab-db-config.service" ]
          else
            [
              "gitlab-config.service"
              "gitlab.service"
              "gitlab-sidekiq.service"
            ];
      })
    );

    services.gitlab = {
      enable = true;
      packages.gitlab = cfg.package;
      inherit (cfg) initialRootPasswordFile;
      host = cfg.hostName;
      port = publicPort;
      inherit https;
      databaseCreateLocally = true;
      secrets = {
        inherit (cfg)
          secretFile
          dbFile
          otpFile
          jwsFile
          activeRecordPrimaryKeyFile
          activeRecordDeterministicKeyFile
          activeRecordSaltFile
          ;
      };
      puma.workers = cfg.resources.pumaWorkers;
      sidekiq.concurrency = cfg.resources.sidekiqConcurrency;
    };
    # gitlab-config.service copies the secrets into secrets.yml and gitlab-db-config.service reads the
    # initial root password: they, not gitlab.service, must wait for sops-nix.
    systemd.services.gitlab-config = {
      wants = [ "sops-install-secrets.service" ];
      after = [ "sops-install-secrets.service" ];
    };
    systemd.services.gitlab-db-config.after = [ "sops-install-secrets.service" ];
    systemd.services.gitlab.serviceConfig.MemoryMax = lib.mkIf (cfg.resources.memoryMax != null) cfg.resources.memoryMax;
  }
  (serviceHost.mkServiceHost {
    name = "rave-gitlab";
    inherit (cfg) hostName;
    inherit path;
    url = cfg.publicUrl;
    # The socket gitlab-workhorse listens on (nixpkgs' services.gitlab).
    locations."/" = {
      proxyPass = "http://unix:/run/gitlab/gitlab-workhorse.socket";
      extraConfig = "client_max_body_size 512m;";
    };
  })
  ]);
}
