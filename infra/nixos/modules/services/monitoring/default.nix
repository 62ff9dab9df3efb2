# services.rave.monitoring: Prometheus (with node exporter) and Grafana behind nginx at their
# profile.json paths (default /prometheus/ and /grafana/). Grafana reads its admin password, secret
# key and database password through Grafana file providers ($__file{...}) from files (default: sops
# secrets under /run/secrets/grafana), so no secret is in grafana.ini or the Nix store.
{ config, lib, ... }:
let
  cfg = config.services.rave.monitoring;
  rave = config.services.rave;
  grafanaPath = rave.servicePaths.Grafana or "/grafana/";
  prometheusPath = rave.servicePaths.Prometheus or "/prometheus/";
  file = path: "$__file{${path}}";
in
{
  options.services.rave.monitoring = {
    enable = lib.mkEnableOption "Prometheus and Grafana monitoring";
    grafana = {
      publicUrl = lib.mkOption {
        type = lib.types.str;
        default = "${rave.publicBaseUrl}${grafanaPath}";
        defaultText = lib.literalExpression ''"''${services.rave.publicBaseUrl}/grafana/"'';
        description = "Grafana root_url.";
      };
      port = lib.mkOption {
        type = lib.types.port;
        default = 3001;
        description = "Local port Grafana listens on; nginx proxies to it.";
      };
      adminPasswordFile = lib.mkOption {
        type = lib.types.str;
        default = "/run/secrets/grafana/admin-password";
        description = "File with the password of the Grafana admin user (default: sops secret grafana/admin-password).";
      };
      secretKeyFile = lib.mkOption {
        type = lib.types.str;
        default = "/run/secrets/grafana/secret-key";
        description = "File with Grafana's secret_key (signs cookies, encrypts data source secrets).";
      };
      databasePasswordFile = lib.mkOption {
        type = lib.types.str;
        default = "/run/secrets/grafana/db-password";
        description = "File with the password of PostgreSQL role grafana (default: sops secret grafana/db-password).";
      };
    };
    prometheus = {
      publicUrl = lib.mkOption {
        type = lib.types.str;
        default = "${rave.publicBaseUrl}${prometheusPath}";
        defaultText = lib.literalExpression ''"''${services.rave.publicBaseUrl}/prometheus/"'';
        description = "Prometheus --web.external-url (its route prefix is this URL's path).";
      };
      port = lib.mkOption {
        type = lib.types.port;
        default = 9090;
        description = "Local port Prometheus listens on; nginx proxies to it.";
      };
      retentionTime = lib.mkOption {
        type = lib.types.str;
        default = "15d";
        description = "How long Prometheus keeps samples.";
      };
    };
    useSops = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Declare the sops-nix secrets grafana/* that the default *File paths point at.";
    };
  };

  config = lib.mkIf cfg.enable {
    sops.secrets = lib.mkIf cfg.useSops {
      # Grafana reads its $__file{} secrets at start; the role password unit sets the database's.
      "grafana/admin-password".owner = "grafana";
      "grafana/admin-password".restartUnits = [ "grafana.service" ];
      "grafana/secret-key".owner = "grafana";
      "grafana/secret-key".restartUnits = [ "grafana.service" ];
      "grafana/db-password".owner = "grafana";
      "grafana/db-password".restartUnits = [
        "rave-postgresql-password-grafana.service"
        "grafana.service"
      ];
    };

    services.postgresql = {
      ensureDatabases = [ "grafana" ];
      ensureUsers = [
        {
          name = "grafana";
          ensureDBOwnership = true;
        }
      ];
    };
    services.rave.postgresql.rolePasswords.grafana = {
      passwordFile = cfg.grafana.databasePasswordFile;
      before = [ "grafana.service" ];
    };

    services.prometheus = {
      enable = true;
      listenAddress = "127.0.0.1";
      inherit (cfg.prometheus) port retentionTime;
      webExternalUrl = cfg.prometheus.publicUrl;
      exporters.node = {
        enable = true;
        listenAddress = "127.0.0.1";
      };
      scrapeConfigs = [
        {
          job_name = "node";
          static_configs = [ { targets = [ "127.0.0.1:${toString config.services.prometheus.exporters.node.port}" ]; } ];
        }
        {
          job_name = "prometheus";
          metrics_path = "${lib.removeSuffix "/" prometheusPath}/metrics";
          static_configs = [ { targets = [ "127.0.0.1:${toString cfg.prometheus.port}" ]; } ];
        }
      ];
    };

    services.grafana = {
      enable = true;
      settings = {
        server = {
          http_addr = "127.0.0.1";
          http_port = cfg.grafana.port;
          root_url = cfg.grafana.publicUrl;
          serve_from_sub_path = true;
        };
        security = {
          admin_user = "admin";
          admin_password = file cfg.grafana.adminPasswordFile;
          secret_key = file cfg.grafana.secretKeyFile;
        };
        database = {
          type = "postgres";
          host = "127.0.0.1:5432";
          name = "grafana";
          user = "grafana";
          password = file cfg.grafana.databasePasswordFile;
        };
        users.allow_sign_up = false;
        analytics.reporting_enabled = false;
      };
      provision.enable = true;
      provision.datasources.settings.datasources = [
        {
          name = "Prometheus";
          type = "prometheus";
          url = "http://127.0.0.1:${toString cfg.prometheus.port}${lib.removeSuffix "/" prometheusPath}";
          isDefault = true;
        }
      ];
    };
    systemd.services.grafana.after = [
      "sops-install-secrets.service"
      "rave-postgresql-password-grafana.service"
    ];

    services.nginx.virtualHosts.rave.locations = {
      ${grafanaPath} = {
        proxyPass = "http://127.0.0.1:${toString cfg.grafana.port}";
        proxyWebsockets = true;
      };
      ${prometheusPath}.proxyPass = "http://127.0.0.1:${toString cfg.prometheus.port}";
    };
  };
}
