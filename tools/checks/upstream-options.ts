/**
 * The nixpkgs and sops-nix options RAVE's Nix files set or read, each checked against the
 * upstream module that declares it (file named per group; the last group holds the core options
 * every NixOS configuration sets). Without network the flake cannot be
 * evaluated against nixpkgs, so this record is the offline guard: a use of an upstream option that
 * is not listed here (a typo, an option upstream renamed, one nobody checked) fails the test, which
 * names the closest recorded options. Add an option only after reading its declaration upstream.
 *
 * Pattern segments: a name, `<name>` for any attribute name (virtual hosts, containers, secrets),
 * and a final `*` for freeform settings below (anything under it is accepted). Fields of the
 * elements of a list of submodules appear under the list option (the scanner flattens lists).
 */
import { OptionUse, ParsedModuleFile } from './nix-options';

export const UPSTREAM_NAMESPACES: readonly string[][] = [
  'services.gitlab',
  'services.mattermost',
  'services.outline',
  'services.n8n',
  'services.grafana',
  'services.prometheus',
  'services.postgresql',
  'services.nginx',
  'services.redis',
  'services.openssh',
  'security.pki',
  'virtualisation',
  'image',
  'sops',
  'nixpkgs',
  'boot',
  'fileSystems',
  'networking',
  'users',
  'system',
  'environment',
].map((n) => n.split('.'));

export const VERIFIED_OPTIONS: Record<string, readonly string[]> = {
  'NixOS/nixpkgs nixos/modules/services/misc/gitlab.nix': [
    'services.gitlab.enable',
    'services.gitlab.packages.gitlab',
    'services.gitlab.initialRootPasswordFile',
    'services.gitlab.host',
    'services.gitlab.port',
    'services.gitlab.https',
    'services.gitlab.user',
    'services.gitlab.databaseCreateLocally',
    'services.gitlab.secrets.secretFile',
    'services.gitlab.secrets.dbFile',
    'services.gitlab.secrets.otpFile',
    'services.gitlab.secrets.jwsFile',
    'services.gitlab.secrets.activeRecordPrimaryKeyFile',
    'services.gitlab.secrets.activeRecordDeterministicKeyFile',
    'services.gitlab.secrets.activeRecordSaltFile',
    'services.gitlab.puma.workers',
    'services.gitlab.sidekiq.concurrency',
  ],
  'NixOS/nixpkgs nixos/modules/services/web-apps/mattermost.nix': [
    'services.mattermost.enable',
    'services.mattermost.package',
    'services.mattermost.host',
    'services.mattermost.port',
    'services.mattermost.siteUrl',
    'services.mattermost.environmentFile',
    'services.mattermost.database.create',
    'services.mattermost.database.peerAuth',
    'services.mattermost.settings.*',
  ],
  'NixOS/nixpkgs nixos/modules/services/web-apps/outline.nix': [
    'services.outline.enable',
    'services.outline.package',
    'services.outline.user',
    'services.outline.publicUrl',
    'services.outline.port',
    'services.outline.secretKeyFile',
    'services.outline.utilsSecretFile',
    'services.outline.storage.storageType',
    'services.outline.oidcAuthentication.authUrl',
    'services.outline.oidcAuthentication.tokenUrl',
    'services.outline.oidcAuthentication.userinfoUrl',
    'services.outline.oidcAuthentication.clientId',
    'services.outline.oidcAuthentication.clientSecretFile',
    'services.outline.oidcAuthentication.displayName',
    'services.outline.smtp',
  ],
  'NixOS/nixpkgs nixos/modules/services/misc/n8n.nix': ['services.n8n.enable', 'services.n8n.environment.*'],
  'NixOS/nixpkgs nixos/modules/services/monitoring/grafana.nix': [
    'services.grafana.enable',
    'services.grafana.settings.*',
    'services.grafana.provision.enable',
    'services.grafana.provision.datasources.settings.datasources.*',
  ],
  'NixOS/nixpkgs nixos/modules/services/monitoring/prometheus/default.nix and exporters.nix': [
    'services.prometheus.enable',
    'services.prometheus.listenAddress',
    'services.prometheus.port',
    'services.prometheus.retentionTime',
    'services.prometheus.webExternalUrl',
    'services.prometheus.scrapeConfigs.*',
    'services.prometheus.exporters.node.enable',
    'services.prometheus.exporters.node.listenAddress',
    'services.prometheus.exporters.node.port',
  ],
  'NixOS/nixpkgs nixos/modules/services/databases/postgresql.nix': [
    'services.postgresql.enable',
    'services.postgresql.package',
    'services.postgresql.ensureDatabases',
    'services.postgresql.ensureUsers.name',
    'services.postgresql.ensureUsers.ensureDBOwnership',
  ],
  'NixOS/nixpkgs nixos/modules/services/web-servers/nginx/{default,vhost-options,location-options}.nix': [
    'services.nginx.enable',
    'services.nginx.recommendedTlsSettings',
    'services.nginx.recommendedProxySettings',
    'services.nginx.recommendedGzipSettings',
    'services.nginx.recommendedOptimisation',
    'services.nginx.defaultListen.addr',
    'services.nginx.defaultListen.port',
    'services.nginx.defaultListen.ssl',
    'services.nginx.virtualHosts.<name>.default',
    'services.nginx.virtualHosts.<name>.serverName',
    'services.nginx.virtualHosts.<name>.forceSSL',
    'services.nginx.virtualHosts.<name>.sslCertificate',
    'services.nginx.virtualHosts.<name>.sslCertificateKey',
    'services.nginx.virtualHosts.<name>.locations.<name>.root',
    'services.nginx.virtualHosts.<name>.locations.<name>.tryFiles',
    'services.nginx.virtualHosts.<name>.locations.<name>.return',
    'services.nginx.virtualHosts.<name>.locations.<name>.proxyPass',
    'services.nginx.virtualHosts.<name>.locations.<name>.proxyWebsockets',
    'services.nginx.virtualHosts.<name>.locations.<name>.extraConfig',
  ],
  'NixOS/nixpkgs nixos/modules/services/databases/redis.nix': [
    'services.redis.servers.<name>.enable',
    'services.redis.servers.<name>.port',
    'services.redis.servers.<name>.bind',
  ],
  'NixOS/nixpkgs nixos/modules/services/networking/ssh/sshd.nix': ['services.openssh.enable', 'services.openssh.settings.*', 'users.users.<name>.openssh.authorizedKeys.keys'],
  'NixOS/nixpkgs nixos/modules/virtualisation/oci-containers.nix and podman/default.nix': [
    'virtualisation.oci-containers.backend',
    'virtualisation.oci-containers.containers.<name>.image',
    'virtualisation.oci-containers.containers.<name>.environment.*',
    'virtualisation.oci-containers.containers.<name>.environmentFiles',
    'virtualisation.oci-containers.containers.<name>.volumes',
    'virtualisation.oci-containers.containers.<name>.extraOptions',
    'virtualisation.oci-containers.containers.<name>.dependsOn',
    'virtualisation.podman.enable',
  ],
  'NixOS/nixpkgs nixos/modules/image/{images,file-options}.nix, virtualisation/{disk-image,disk-size-option}.nix': [
    'image.modules.<name>.image.baseName',
    'image.modules.<name>.image.format',
    'image.modules.<name>.image.efiSupport',
    'image.modules.<name>.virtualisation.diskSize',
  ],
  'NixOS/nixpkgs nixos/modules/virtualisation/qemu-vm.nix (test nodes)': ['virtualisation.memorySize'],
  'Mic92/sops-nix modules/sops/default.nix': [
    'sops.defaultSopsFile',
    'sops.defaultSopsFormat',
    'sops.age.keyFile',
    'sops.age.sshKeyPaths',
    'sops.gnupg.sshKeyPaths',
    'sops.secrets',
    'sops.secrets.<name>.owner',
    // Not in the stored copy of the module (older than the option); set as shown in sops-nix's
    // current users' configurations. `nix flake check` with network confirms it.
    'sops.useSystemdActivation',
  ],
  'NixOS/nixpkgs nixos/modules: system/boot, tasks/filesystems, networking, misc/nixpkgs, system/activation': [
    'boot.growPartition',
    'boot.kernelParams',
    'boot.loader.grub.device',
    'fileSystems.<name>.device',
    'fileSystems.<name>.fsType',
    'fileSystems.<name>.autoResize',
    'networking.hostName',
    'networking.enableIPv6',
    'networking.firewall.allowedTCPPorts',
    'nixpkgs.config.allowUnfreePredicate',
    'system.stateVersion',
    'environment.systemPackages',
    'security.pki.caBundle',
  ],
};

export interface UnverifiedUse extends OptionUse {
  message: string;
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*') return true;
    if (i >= path.length) return false;
    if (pattern[i] !== '<name>' && pattern[i] !== path[i]) return false;
  }
  return pattern.length === path.length;
}

/** A prefix of a recorded option: a group set through a value the scanner cannot see into. */
function isGroupOf(pattern: readonly string[], path: readonly string[]): boolean {
  return path.length < pattern.length && path.every((seg, i) => pattern[i] === '<name>' || pattern[i] === '*' || pattern[i] === seg);
}

/** Uses of upstream options that VERIFIED_OPTIONS does not record. */
export function unverifiedUpstreamUses(files: readonly ParsedModuleFile[], verified = VERIFIED_OPTIONS): UnverifiedUse[] {
  const patterns = Object.values(verified)
    .flat()
    .map((p) => p.split('.'));
  const out: UnverifiedUse[] = [];
  for (const use of files.flatMap((f) => f.uses)) {
    if (patterns.some((p) => matches(p, use.path) || isGroupOf(p, use.path))) continue;
    const prefix = use.path.slice(0, 2).join('.');
    const near = patterns.map((p) => p.join('.')).filter((p) => p.startsWith(`${prefix}.`));
    out.push({
      ...use,
      message:
        `${use.path.join('.')} is not a recorded upstream option` +
        (near.length ? `; recorded under ${prefix}: ${near.join(', ')}` : '') +
        '. Check its declaration in nixpkgs or sops-nix, then record it in tools/checks/upstream-options.ts.',
    });
  }
  return out;
}
