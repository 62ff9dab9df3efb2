# services.rave.n8n: n8n workflow automation behind nginx at its profile.json path (default /n8n/).
# PostgreSQL over TCP as role "n8n": the role password is set at boot from databasePasswordFile, and
# n8n reads the password and its encryption key from files: nixpkgs' services.n8n.environment turns
# every *_FILE variable into a systemd credential (the service runs with DynamicUser).
# TLS ends at nginx: n8n serves plain HTTP on 127.0.0.1 (with N8N_PROTOCOL=https but no
# N8N_SSL_KEY/N8N_SSL_CERT it still does), while the URLs it shows carry https. n8n is under the
# Sustainable Use License (unfree in nixpkgs): enabling the service allows exactly that package.
{ config, lib, ... }:
let
  cfg = config.services.rave.n8n;
  rave = config.services.rave;
  path = rave.servicePaths.n8n or "/n8n/";
in
{
  options.services.rave.n8n = {
    enable = lib.mkEnableOption "n8n workflow automation";
    publicUrl = lib.mkOption {
      type = lib.types.str;
      default = "${rave.publicBaseUrl}${path}";
      defaultText = lib.literalExpression ''"''${services.rave.publicBaseUrl}/n8n/"'';
      description = "URL of the n8n editor; webhooks are served under it too.";
    };
    port = lib.mkOption {
      type = lib.types.port;
      default = 5678;
      description = "Local port n8n listens on; nginx proxies to it.";
    };
    databasePasswordFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/n8n/db-password";
      description = "File with the password of PostgreSQL role n8n (default: sops secret n8n/db-password).";
    };
    encryptionKeyFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/secrets/n8n/encryption-key";
      description = "File with N8N_ENCRYPTION_KEY, which encrypts stored credentials (default: sops secret n8n/encryption-key).";
    };
    useSops = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Declare the sops-nix secrets n8n/* that the default *File paths point at.";
    };
    resources.memoryMax = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "1G";
      description = "systemd MemoryMax of the n8n service (null: no limit).";
    };
  };

  config = lib.mkIf cfg.enable {
    sops.secrets = lib.mkIf cfg.useSops {
      "n8n/db-password".restartUnits = [
        "rave-postgresql-password-n8n.service"
        "n8n.service"
      ];
      "n8n/encryption-key".restartUnits = [ "n8n.service" ];
    };

    services.postgresql = {
      ensureDatabases = [ "n8n" ];
      ensureUsers = [
        {
          name = "n8n";
          ensureDBOwnership = true;
        }
      ];
    };
    services.rave.postgresql.rolePasswords.n8n = {
      passwordFile = cfg.databasePasswordFile;
      before = [ "n8n.service" ];
    };

    services.rave.unfreePackages = [ "n8n" ];
    services.n8n = {
      enable = true;
      environment = {
        N8N_PORT = cfg.port;
        N8N_LISTEN_ADDRESS = "127.0.0.1";
        # The editor's base path; nginx strips the prefix before proxying.
        N8N_PATH = path;
        N8N_PROTOCOL = "https";
        N8N_EDITOR_BASE_URL = cfg.publicUrl;
        WEBHOOK_URL = cfg.publicUrl;
        N8N_PROXY_HOPS = 1;
        # Node.js trusts only its built-in CAs unless told otherwise (security.pki.certificateFiles).
        NODE_EXTRA_CA_CERTS = config.security.pki.caBundle;
        DB_TYPE = "postgresdb";
        DB_POSTGRESDB_HOST = "127.0.0.1";
        DB_POSTGRESDB_PORT = 5432;
        DB_POSTGRESDB_DATABASE = "n8n";
        DB_POSTGRESDB_USER = "n8n";
        DB_POSTGRESDB_PASSWORD_FILE = cfg.databasePasswordFile;
        N8N_ENCRYPTION_KEY_FILE = cfg.encryptionKeyFile;
      };
    };
    systemd.services.n8n = {
      wants = [ "sops-install-secrets.service" ];
      after = [
        "sops-install-secrets.service"
        "rave-postgresql-password-n8n.service"
      ];
      serviceConfig.MemoryMax = lib.mkIf (cfg.resources.memoryMax != null) cfg.resources.memoryMax;
    };

    services.nginx.virtualHosts.rave.locations.${path} = {
      proxyPass = "http://127.0.0.1:${toString cfg.port}/";
      proxyWebsockets = true;
    };
  };
}
