# services.rave.outline: the Outline wiki behind nginx on its own host name (default
# outline.<services.rave.hostName>): Outline does not support running under a path prefix, so its
# profile.json path (default /outline/) redirects there.
# Database and Redis are local (Unix socket, peer authentication); secrets are files. The outline
# package is BUSL-1.1 (unfree in nixpkgs): enabling the service allows exactly that package.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.rave.outline;
  rave = config.services.rave;
  path = rave.servicePaths.Outline or "/outline/";
  serviceHost = import ../../../lib/service-host.nix { inherit rave; };
in
{
  options.services.rave.outline = {
    enable = lib.mkEnableOption "the Outline wiki";
    package = lib.mkPackageOption pkgs "outline" { };
    hostName = lib.mkOption {
      type = lib.types.str;
      default = "outline.${rave.hostName}";
      defaultText = lib.literalExpression ''"outline.''${services.rave.hostName}"'';
      description = "Host name of Outline's own virtual host (it needs a DNS entry unless it ends in .localhost).";
    };
    publicUrl = lib.mkOption {
      type = lib.types.str;
      default = serviceHost.originOf cfg.hostName;
      defaultText = lib.literalExpression ''"https://''${hostName}:<port of services.rave.publicBaseUrl>"'';
      description = "URL users reach Outline under (Outline's URL, no path).";
    };
    port = lib.mkOption {
      type = lib.types.port;
      default = 3000;
      description = "Local port Outline listens on; nginx proxies to it.";
    };
    secretKeyFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/outline/secret-key";
      description = "File with SECRET_KEY (64 hex characters; default: sops secret outline/secret-key).";
    };
    utilsSecretFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/outline/utils-secret";
      description = "File with UTILS_SECRET (default: sops secret outline/utils-secret).";
    };
    oidc = {
      enable = lib.mkEnableOption "login through an OpenID Connect provider (for example GitLab)";
      authUrl = lib.mkOption {
        type = lib.types.str;
        default = "${config.services.rave.gitlab.publicUrl}oauth/authorize";
        description = "OIDC authorization endpoint.";
      };
      tokenUrl = lib.mkOption {
        type = lib.types.str;
        default = "${config.services.rave.gitlab.publicUrl}oauth/token";
        description = "OIDC token endpoint.";
      };
      userinfoUrl = lib.mkOption {
        type = lib.types.str;
        default = "${config.services.rave.gitlab.publicUrl}oauth/userinfo";
        description = "OIDC userinfo endpoint.";
      };
      clientId = lib.mkOption {
        type = lib.types.str;
        default = "";
        description = "Application ID of the OAuth application registered at the provider (not secret).";
      };
      clientSecretFile = lib.mkOption {
        type = lib.types.str;
        default = "/run/secrets/outline/oidc-client-secret";
        description = "File with the OAuth client secret (default: sops secret outline/oidc-client-secret).";
      };
    };
    useSops = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Declare the sops-nix secrets outline/* that the default *File paths point at.";
    };
    resources.memoryMax = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "1G";
      description = "systemd MemoryMax of the outline service (null: no limit).";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
  {
    assertions = [
      {
        assertion = cfg.oidc.enable -> cfg.oidc.clientId != "";
        message = "services.rave.outline.oidc.clientId is empty: register Outline as an OAuth application in GitLab and set its Application ID (see docs/how-to/gitlab-mattermost-integration.md).";
      }
    ];
    # Outline has no password login: users sign in through an identity provider (or e-mailed links,
    # which need SMTP), so without one nobody can sign in.
    warnings = lib.optional (!cfg.oidc.enable && config.services.outline.smtp == null) "services.rave.outline: no login provider is configured, so nobody can sign in to Outline; enable services.rave.outline.oidc (see docs/how-to/gitlab-mattermost-integration.md).";
    services.rave.unfreePackages = [ "outline" ];
    sops.secrets = lib.mkIf cfg.useSops (
      # Its start script reads the files: a changed one needs a restart.
      {
        "outline/secret-key".owner = config.services.outline.user;
        "outline/secret-key".restartUnits = [ "outline.service" ];
        "outline/utils-secret".owner = config.services.outline.user;
        "outline/utils-secret".restartUnits = [ "outline.service" ];
      }
      // lib.optionalAttrs cfg.oidc.enable {
        "outline/oidc-client-secret".owner = config.services.outline.user;
        "outline/oidc-client-secret".restartUnits = [ "outline.service" ];
      }
    );

    services.outline = {
      enable = true;
      inherit (cfg) package publicUrl port secretKeyFile utilsSecretFile;
      storage.storageType = "local";
      oidcAuthentication = lib.mkIf cfg.oidc.enable {
        inherit (cfg.oidc) authUrl tokenUrl userinfoUrl clientId clientSecretFile;
        displayName = "GitLab";
      };
    };
    # nixpkgs' services.outline adds tmpfiles rules `f <secretKeyFile>` and `f <utilsSecretFile>`; for
    # files under /run/secrets they only work once sops-nix has installed the secrets.
    systemd.services.sops-install-secrets.before = lib.mkIf (cfg.useSops && config.security.rave.sopsBootstrap.enable) [
      "systemd-tmpfiles-setup.service"
    ];
    systemd.services.outline = {
      wants = [ "sops-install-secrets.service" ];
      after = [ "sops-install-secrets.service" ];
      # Node.js trusts only its built-in CAs unless told otherwise; the OIDC calls to GitLab need the
      # system store (security.pki.certificateFiles).
      environment.NODE_EXTRA_CA_CERTS = config.security.pki.caBundle;
      serviceConfig.MemoryMax = lib.mkIf (cfg.resources.memoryMax != null) cfg.resources.memoryMax;
    };
  }
  (serviceHost.mkServiceHost {
    name = "rave-outline";
    inherit (cfg) hostName;
    inherit path;
    url = "${cfg.publicUrl}/";
    locations."/" = {
      proxyPass = "http://127.0.0.1:${toString cfg.port}";
      proxyWebsockets = true;
    };
  })
  ]);
}
