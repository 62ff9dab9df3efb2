# services.rave.mattermost: Mattermost behind nginx on its own host name (default
# mattermost.<services.rave.hostName>). Under a path prefix Mattermost rewrites its client files at
# start, and nixpkgs links them read-only from the Nix store, so it gets the site root; its
# profile.json path (default /mattermost/) redirects there.
# Database: nixpkgs' services.mattermost creates the local role and database and connects over the
# Unix socket with peer authentication, so there is no database password. The only secret, the
# GitLab OAuth application secret, reaches Mattermost through an environment file written at boot
# from a systemd credential (never through the Nix store).
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
  serviceHost = import ../../../lib/service-host.nix { inherit rave; };
  envFile = "/run/rave-mattermost/secrets.env";
in
{
  options.services.rave.mattermost = {
    enable = lib.mkEnableOption "Mattermost";
    package = lib.mkPackageOption pkgs "mattermost" { };
    hostName = lib.mkOption {
      type = lib.types.str;
      default = "mattermost.${rave.hostName}";
      defaultText = lib.literalExpression ''"mattermost.''${services.rave.hostName}"'';
      description = "Host name of Mattermost's own virtual host (it needs a DNS entry unless it ends in .localhost).";
    };
    publicUrl = lib.mkOption {
      type = lib.types.str;
      default = serviceHost.originOf cfg.hostName;
      defaultText = lib.literalExpression ''"https://''${hostName}:<port of services.rave.publicBaseUrl>"'';
      description = "Mattermost SiteURL (no trailing slash).";
    };
    port = lib.mkOption {
      type = lib.types.port;
      default = 8065;
      description = "Local port Mattermost listens on; nginx proxies to it.";
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
      description = "Declare the sops-nix secret mattermost/gitlab-application-secret (when gitlabLogin is enabled).";
    };
    resources.memoryMax = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "2G";
      description = "systemd MemoryMax of the mattermost service (null: no limit).";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = cfg.gitlabLogin.enable -> cfg.gitlabLogin.applicationId != "";
            message = "services.rave.mattermost.gitlabLogin.applicationId is empty: register Mattermost as an OAuth application in GitLab and set its Application ID (see docs/how-to/gitlab-mattermost-integration.md).";
          }
        ];
        sops.secrets = lib.mkIf (cfg.useSops && cfg.gitlabLogin.enable) {
          # rave-mattermost-env writes it into Mattermost's environment file, read at start.
          "mattermost/gitlab-application-secret".restartUnits = [
            "rave-mattermost-env.service"
            "mattermost.service"
          ];
        };

        services.mattermost = {
          enable = true;
          inherit (cfg) package port;
          host = "127.0.0.1";
          siteUrl = cfg.publicUrl;
          # Role "mattermost" = user "mattermost" = database "mattermost", over /run/postgresql.
          database = {
            create = true;
            peerAuth = true;
          };
          environmentFile = lib.mkIf cfg.gitlabLogin.enable envFile;
          settings.GitLabSettings = lib.mkIf cfg.gitlabLogin.enable {
            Enable = true;
            Id = cfg.gitlabLogin.applicationId;
            Scope = "";
            AuthEndpoint = "${cfg.gitlabLogin.gitlabUrl}oauth/authorize";
            TokenEndpoint = "${cfg.gitlabLogin.gitlabUrl}oauth/token";
            UserAPIEndpoint = "${cfg.gitlabLogin.gitlabUrl}api/v4/user";
          };
        };
        systemd.services.mattermost.serviceConfig.MemoryMax = lib.mkIf (cfg.resources.memoryMax != null) cfg.resources.memoryMax;

        # systemd reads services.mattermost.environmentFile before Mattermost's first command, so the
        # file is written by a unit of its own, ordered before it.
        systemd.services.rave-mattermost-env = lib.mkIf cfg.gitlabLogin.enable {
          description = "Write Mattermost's secret environment file";
          before = [ "mattermost.service" ];
          requiredBy = [ "mattermost.service" ];
          wants = [ "sops-install-secrets.service" ];
          after = [ "sops-install-secrets.service" ];
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            RuntimeDirectory = "rave-mattermost";
            RuntimeDirectoryMode = "0700";
            RuntimeDirectoryPreserve = true;
            UMask = "0077";
            LoadCredential = [ "gitlab-secret:${cfg.gitlabLogin.applicationSecretFile}" ];
          };
          script = ''
            printf 'MM_GITLABSETTINGS_SECRET=%s\n' "$(${pkgs.coreutils}/bin/cat "$CREDENTIALS_DIRECTORY/gitlab-secret")" > ${envFile}
          '';
        };
      }
      (serviceHost.mkServiceHost {
        name = "rave-mattermost";
        inherit (cfg) hostName;
        inherit path;
        url = "${cfg.publicUrl}/";
        locations."/" = {
          proxyPass = "http://127.0.0.1:${toString cfg.port}";
          proxyWebsockets = true;
          extraConfig = "client_max_body_size 100m;";
        };
      })
    ]
  );
}
