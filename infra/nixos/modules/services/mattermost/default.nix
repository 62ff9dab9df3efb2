# services.rave.mattermost: Mattermost behind nginx at its profile.json path (default /mattermost/).
# It connects to PostgreSQL over TCP as role "mattermost"; the role's password is set at boot from
# databasePasswordFile by rave-postgresql-password-mattermost, and Mattermost reads it from an
# environment file written at service start from the same file (never from the Nix store).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.rave.mattermost;
  rave = config.services.rave;
  path = rave.servicePaths.Mattermost or "/mattermost/";
  # Mattermost's default listen port (nixpkgs' module and upstream); nginx proxies to it.
  port = 8065;
in
{
  options.services.rave.mattermost = {
    enable = lib.mkEnableOption "Mattermost";
    package = lib.mkPackageOption pkgs "mattermost" { };
    publicUrl = lib.mkOption {
      type = lib.types.str;
      default = "${rave.publicBaseUrl}${lib.removeSuffix "/" path}";
      defaultText = lib.literalExpression ''"''${services.rave.publicBaseUrl}/mattermost"'';
      description = "Mattermost SiteURL (no trailing slash).";
    };
    databasePasswordFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/mattermost/db-password";
      description = "File with the password of PostgreSQL role mattermost (default: sops secret mattermost/db-password).";
    };
    gitlabLogin = {
      enable = lib.mkEnableOption "\"Log in with GitLab\" (GitLab as Mattermost's OAuth 2.0 provider)";
      gitlabUrl = lib.mkOption {
        type = lib.types.str;
        default = config.services.rave.gitlab.publicUrl;
        defaultText = lib.literalExpression "config.services.rave.gitlab.publicUrl";
        description = "Base URL of the GitLab that users log in with (trailing slash).";
      };
      applicationId = lib.mkOption {
        type = lib.types.str;
        default = "";
        description = "Application ID of the OAuth application registered in GitLab (not secret).";
      };
      applicationSecretFile = lib.mkOption {
        type = lib.types.str;
        default = "/run/secrets/mattermost/gitlab-application-secret";
        description = "File with that application's secret (default: sops secret mattermost/gitlab-application-secret).";
      };
    };
    useSops = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Declare the sops-nix secret mattermost/db-password.";
    };
    resources.memoryMax = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "2G";
      description = "systemd MemoryMax of the mattermost service (null: no limit).";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.gitlabLogin.enable -> cfg.gitlabLogin.applicationId != "";
        message = "services.rave.mattermost.gitlabLogin.applicationId is empty: register Mattermost as an OAuth application in GitLab and set its Application ID (see docs/how-to/gitlab-mattermost-integration.md).";
      }
    ];
    sops.secrets = lib.mkIf cfg.useSops (
      { "mattermost/db-password" = { }; }
      // lib.optionalAttrs cfg.gitlabLogin.enable { "mattermost/gitlab-application-secret" = { }; }
    );

    services.postgresql = {
      ensureDatabases = [ "mattermost" ];
      ensureUsers = [
        {
          name = "mattermost";
          ensureDBOwnership = true;
        }
      ];
    };
    services.rave.postgresql.rolePasswords.mattermost = {
      passwordFile = cfg.databasePasswordFile;
      before = [ "mattermost.service" ];
    };

    services.mattermost = {
      enable = true;
      inherit (cfg) package;
      siteUrl = cfg.publicUrl;
      settings.GitLabSettings = lib.mkIf cfg.gitlabLogin.enable {
        Enable = true;
        Id = cfg.gitlabLogin.applicationId;
        Scope = "";
        AuthEndpoint = "${cfg.gitlabLogin.gitlabUrl}oauth/authorize";
        TokenEndpoint = "${cfg.gitlabLogin.gitlabUrl}oauth/token";
        UserAPIEndpoint = "${cfg.gitlabLogin.gitlabUrl}api/v4/user";
      };
    };
    systemd.services.mattermost = {
      after = [ "rave-postgresql-password-mattermost.service" ];
      serviceConfig = {
        LoadCredential = [
          "db-password:${cfg.databasePasswordFile}"
        ] ++ lib.optional cfg.gitlabLogin.enable "gitlab-secret:${cfg.gitlabLogin.applicationSecretFile}";
        RuntimeDirectory = "mattermost";
        RuntimeDirectoryMode = "0700";
        EnvironmentFile = "-/run/mattermost/db.env";
        MemoryMax = lib.mkIf (cfg.resources.memoryMax != null) cfg.resources.memoryMax;
        # systemd reads EnvironmentFile anew for every command it starts, so ExecStart sees the file this
        # writes; the data source (with the password) reaches Mattermost only through it.
        ExecStartPre = lib.mkBefore [
          (pkgs.writeShellScript "mattermost-db-env" ''
            set -eu
            pw=$(${pkgs.coreutils}/bin/cat "$CREDENTIALS_DIRECTORY/db-password")
            enc=$(printf '%s' "$pw" | ${pkgs.jq}/bin/jq -sRr @uri)
            umask 077
            printf 'MM_SQLSETTINGS_DATASOURCE=postgres://mattermost:%s@127.0.0.1:5432/mattermost?sslmode=disable\n' "$enc" > /run/mattermost/db.env
            ${lib.optionalString cfg.gitlabLogin.enable ''
              printf 'MM_GITLABSETTINGS_SECRET=%s\n' "$(${pkgs.coreutils}/bin/cat "$CREDENTIALS_DIRECTORY/gitlab-secret")" >> /run/mattermost/db.env
            ''}
          '')
        ];
      };
    };

    services.nginx.virtualHosts.rave.locations.${path} = {
      proxyPass = "http://127.0.0.1:${toString port}";
      proxyWebsockets = true;
      extraConfig = "client_max_body_size 100m;";
    };
  };
}
