/**
 * What RAVE's Nix files rely on upstream, each checked against the upstream source that declares
 * it: the nixpkgs and sops-nix options they set or read (VERIFIED_OPTIONS), the systemd units
 * they name (UPSTREAM_UNITS), who reads each secret and with which owner and mode
 * (SECRET_READERS, FILE_ACCESS), what the NixOS test framework makes read-only
 * (READ_ONLY_IN_TEST_NODES, SET_BY_NIXPKGS_IN_TEST_NODES, UPSTREAM_MODULES_IN_TESTS), and the test
 * framework's options and test-driver calls the VM tests use (TEST_FRAMEWORK_OPTIONS,
 * TEST_DRIVER_API), and what the interactive test driver needs from a check (TEST_RESULT_ATTRIBUTES). Without network the flake cannot be
 * evaluated against nixpkgs, so this record is the offline guard: a use that is not listed here (a
 * typo, an option upstream renamed, one nobody checked) fails the tests, which name the closest
 * recorded entries. Add an entry only after reading its declaration upstream: nixpkgs' branch
 * nixos-26.05 and the sops-nix revision that flake.lock pins.
 *
 * Option pattern segments: a name, `<name>` for any attribute name (virtual hosts, containers,
 * secrets), and a final `*` for freeform settings below (anything under it is accepted). Fields of
 * the elements of a list of submodules appear under the list option (the scanner flattens lists).
 */
import { OptionUse, ParsedModuleFile, scanModuleFile, stringLiterals } from './nix-options';

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
  'systemd',
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
    // The user (nginx) the service and its preStart `nginx -t` run as; the key's group.
    'services.nginx.group',
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
  // authorizedKeysFiles is a list merged with the module's own (".ssh/authorized_keys" and
  // "/etc/ssh/authorized_keys.d/%u", which users.users.<name>.openssh.authorizedKeys.keys fills) into
  // sshd_config's AuthorizedKeysFile.
  'NixOS/nixpkgs nixos/modules/services/networking/ssh/sshd.nix': [
    'services.openssh.enable',
    'services.openssh.settings.*',
    'services.openssh.authorizedKeysFiles',
    'users.users.<name>.openssh.authorizedKeys.keys',
  ],
  'NixOS/nixpkgs nixos/modules/virtualisation/oci-containers.nix and podman/default.nix': [
    'virtualisation.oci-containers.backend',
    'virtualisation.oci-containers.containers.<name>.image',
    'virtualisation.oci-containers.containers.<name>.environment.*',
    'virtualisation.oci-containers.containers.<name>.environmentFiles',
    'virtualisation.oci-containers.containers.<name>.volumes',
    'virtualisation.oci-containers.containers.<name>.extraOptions',
    'virtualisation.oci-containers.containers.<name>.dependsOn',
    // nullOr package: loaded (podman load) before the container starts; `image` must name the image
    // and tag the archive holds, or the image is pulled as usual.
    'virtualisation.oci-containers.containers.<name>.imageFile',
    'virtualisation.podman.enable',
  ],
  'NixOS/nixpkgs nixos/modules/image/{images,file-options}.nix, virtualisation/{disk-image,disk-size-option}.nix': [
    'image.modules.<name>.image.baseName',
    'image.modules.<name>.image.format',
    'image.modules.<name>.image.efiSupport',
    'image.modules.<name>.virtualisation.diskSize',
  ],
  'NixOS/nixpkgs nixos/modules/virtualisation/qemu-vm.nix and disk-size-option.nix (test nodes)': [
    // MiB.
    'virtualisation.memorySize',
    'virtualisation.cores',
    // MiB (disk-size-option.nix, imported by qemu-vm.nix); the root disk is created sparse at start.
    'virtualisation.diskSize',
    // The guest's store from an image built before the VM starts instead of the host's over 9p;
    // writableStore then defaults to false (it follows mountHostNixStore).
    'virtualisation.useNixStoreImage',
  ],
  'NixOS/nixpkgs nixos/modules/virtualisation/build-vm.nix, qemu-vm.nix and disk-size-option.nix (development VM)': [
    // build-vm.nix: system.build.vm is virtualisation.vmVariant's, the configuration extended with qemu-vm.nix.
    'virtualisation.vmVariant.virtualisation.memorySize',
    'virtualisation.vmVariant.virtualisation.cores',
    // MiB: the size of the root disk the run script creates when NIX_DISK_IMAGE does not exist.
    'virtualisation.vmVariant.virtualisation.diskSize',
    // false adds -nographic and makes ttyS0 the primary console (virtualisation.qemu.consoles).
    'virtualisation.vmVariant.virtualisation.graphics',
    'virtualisation.vmVariant.boot.growPartition',
  ],
  'Mic92/sops-nix modules/sops/default.nix': [
    'sops.defaultSopsFile',
    'sops.defaultSopsFormat',
    'sops.age.keyFile',
    'sops.age.sshKeyPaths',
    'sops.gnupg.sshKeyPaths',
    'sops.secrets',
    'sops.secrets.<name>.owner',
    // listOf str, default []. With useSystemdActivation, sops-install-secrets.service runs with
    // SOPS_RESTART_UNITS_VIA_SYSTEMCTL=1: each run compares every secret's new file with the one
    // installed before (bytes; a secret that did not exist counts as changed) and runs
    // `systemctl --no-block try-restart` on the restartUnits of those that differ
    // (pkgs/sops-install-secrets/main.go, handleModifications). nx-nixos-reload-credentials
    // (security/sops-bootstrap.nix) relies on that: it restarts that unit, nothing else.
    'sops.secrets.<name>.restartUnits',
    // Declared since November 2025 (Mic92/sops-nix#858). Its default is true only with
    // systemd-sysusers or userborn, so RAVE sets it: then sops-install-secrets.service exists and
    // can be ordered after rave-sops-age-key.service.
    'sops.useSystemdActivation',
    // Default true: checks every sopsFile at evaluation time (builtins.hashFile, pathExists), which
    // would build a sops file that is itself a build output (the VM tests' fixtures), and refuses a
    // sopsFile outside the store (modules/sops/manifest-for.nix). sops-bootstrap.nix sets it false:
    // defaultSopsFile (type path: a string starting with "/" is one) is the runtime copy
    // /var/lib/sops-nix/secrets.yaml, which sops-install-secrets reads when it runs.
    'sops.validateSopsFiles',
  ],
  'NixOS/nixpkgs nixos/lib/systemd-unit-options.nix, nixos/modules/system/boot/systemd.nix and systemd/tmpfiles.nix; directives: systemd.unit(5), systemd.service(5), systemd.exec(5), systemd.resource-control(5)':
    [
      'systemd.services.<name>.description',
      'systemd.services.<name>.wantedBy',
      'systemd.services.<name>.requiredBy',
      'systemd.services.<name>.wants',
      'systemd.services.<name>.requires',
      'systemd.services.<name>.after',
      'systemd.services.<name>.before',
      'systemd.services.<name>.path',
      'systemd.services.<name>.script',
      'systemd.services.<name>.environment.*',
      'systemd.services.<name>.unitConfig.ConditionPathExists',
      'systemd.services.<name>.unitConfig.DefaultDependencies',
      'systemd.services.<name>.serviceConfig.Type',
      'systemd.services.<name>.serviceConfig.RemainAfterExit',
      'systemd.services.<name>.serviceConfig.User',
      'systemd.services.<name>.serviceConfig.UMask',
      'systemd.services.<name>.serviceConfig.MemoryMax',
      'systemd.services.<name>.serviceConfig.LoadCredential',
      // systemd 254 and later; unlike LoadCredential= it does not fail the unit when the credential is absent.
      'systemd.services.<name>.serviceConfig.ImportCredential',
      'systemd.services.<name>.serviceConfig.RuntimeDirectory',
      'systemd.services.<name>.serviceConfig.RuntimeDirectoryMode',
      'systemd.services.<name>.serviceConfig.RuntimeDirectoryPreserve',
      // mkPackageOption pkgs "systemd": the systemctl nx-nixos-reload-credentials runs.
      'systemd.package',
      'systemd.tmpfiles.rules',
      // settings.<file name>.<path>.<type>: one tmpfiles.d line each (tmpfiles.nix settingsEntryToRule).
      // Type "f+^": the argument names a credential whose content is written (tmpfiles.d(5), systemd 252+).
      // systemd-tmpfiles-setup.service imports ssh.authorized_keys.root itself (ImportCredential=), as
      // tmpfiles.nix's systemd-tmpfiles-resetup copy shows; NixOS links no provision.conf.
      'systemd.tmpfiles.settings.<name>.<name>.<name>.mode',
      'systemd.tmpfiles.settings.<name>.<name>.<name>.user',
      'systemd.tmpfiles.settings.<name>.<name>.<name>.group',
      'systemd.tmpfiles.settings.<name>.<name>.<name>.argument',
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

/**
 * Units of nixpkgs, sops-nix and systemd that RAVE's Nix files name (ordering and dependencies,
 * the VM test's wait_for_unit), each checked in the module that defines it; the comments say what
 * RAVE relies on. `<name>` stands for any part of a unit name.
 */
export const UPSTREAM_UNITS: Record<string, readonly string[]> = {
  // postgresql.target (wantedBy multi-user.target) requires postgresql.service and
  // postgresql-setup.service, which creates ensureDatabases and ensureUsers as user postgres; the
  // OS user postgres logs in locally with peer authentication (map postgres).
  'NixOS/nixpkgs nixos/modules/services/databases/postgresql.nix': ['postgresql.target', 'postgresql.service'],
  // User and Group services.nginx.user/group (nginx) for the daemon and for its preStart `nginx -t`,
  // which opens every ssl_certificate and ssl_certificate_key; ProtectSystem=strict.
  'NixOS/nixpkgs nixos/modules/services/web-servers/nginx/default.nix': ['nginx.service'],
  // gitlab-config.service (User gitlab) reads the services.gitlab.secrets.*File files into
  // secrets.yml; gitlab-db-config.service (User gitlab) reads initialRootPasswordFile;
  // gitlab-workhorse listens on /run/gitlab/gitlab-workhorse.socket with -listenUmask 0, so nginx
  // may connect.
  // gitaly, gitlab-workhorse, gitlab (Type=notify: active once Puma is up) and gitlab-sidekiq are
  // wanted or required by gitlab.target.
  'NixOS/nixpkgs nixos/modules/services/misc/gitlab.nix': [
    'gitlab.service',
    'gitlab-config.service',
    'gitlab-db-config.service',
    'gitaly.service',
    'gitlab-workhorse.service',
    'gitlab-sidekiq.service',
  ],
  // User mattermost; EnvironmentFile = services.mattermost.environmentFile, which systemd reads
  // before starting the service.
  'NixOS/nixpkgs nixos/modules/services/web-apps/mattermost.nix': ['mattermost.service'],
  // User outline; its script reads secretKeyFile, utilsSecretFile and
  // oidcAuthentication.clientSecretFile with `head -n1`, and the module adds tmpfiles rules
  // `f <file> 0600 outline outline` for the first two.
  'NixOS/nixpkgs nixos/modules/services/web-apps/outline.nix': ['outline.service'],
  // DynamicUser; each services.n8n.environment.*_FILE becomes LoadCredential= and %d/<name>.
  'NixOS/nixpkgs nixos/modules/services/misc/n8n.nix': ['n8n.service'],
  // User grafana: the $__file{} providers read their files in that process.
  'NixOS/nixpkgs nixos/modules/services/monitoring/grafana.nix': ['grafana.service'],
  // systemd.services.prometheus, and systemd.services."prometheus-${name}-exporter" for each exporter.
  'NixOS/nixpkgs nixos/modules/services/monitoring/prometheus/default.nix and exporters.nix': ['prometheus.service', 'prometheus-<name>-exporter.service'],
  // One unit <backend>-<container name> per container, run as root (podman reads --env-file).
  'NixOS/nixpkgs nixos/modules/virtualisation/oci-containers.nix': ['podman-<name>.service'],
  // Defined when sops.useSystemdActivation is set and sops.secrets has regular secrets: wantedBy
  // sysinit.target, DefaultDependencies=no, after local-fs.target; installs /run/secrets/<name>
  // as root with each secret's owner, group and mode.
  'Mic92/sops-nix modules/sops/default.nix': ['sops-install-secrets.service'],
  'systemd: systemd.special(7), systemd-tmpfiles(8)': ['sysinit.target', 'local-fs.target', 'multi-user.target', 'systemd-tmpfiles-setup.service'],
};

/** Units RAVE's own modules define. */
export const RAVE_UNITS: readonly string[] = [
  'rave-sops-age-key.service',
  'rave-tls-selfsigned.service',
  'rave-postgresql-password-<name>.service',
  'rave-mattermost-env.service',
  'penpot-secrets-env.service',
];

export interface UnitReference {
  file: string;
  line: number;
  /** `${...}` parts replaced by `<name>`. */
  unit: string;
}

const UNIT_NAME = /(?:[A-Za-z0-9@_.:-]|\$\{[^}]*\})+\.(?:service|target|socket|timer)\b/g;

/** Units a Nix file names: in strings (dependencies, test scripts) and as systemd.services.<name>. */
export function unitReferences(file: string, source: string): UnitReference[] {
  const out: UnitReference[] = [];
  for (const s of stringLiterals(file, source))
    for (const m of s.text.matchAll(UNIT_NAME))
      // A file path (/run/gitlab/gitlab-workhorse.socket) is not a unit.
      if (s.text[(m.index ?? 0) - 1] !== '/') out.push({ file, line: s.line, unit: m[0].replace(/\$\{[^}]*\}/g, '<name>') });
  for (const use of scanModuleFile(file, source, [['systemd', 'services']]).uses)
    if (use.kind === 'set' && use.path.length > 2) out.push({ file, line: use.line, unit: `${use.path[2]}.service` });
  return out.filter((r, i) => out.findIndex((o) => o.line === r.line && o.unit === r.unit) === i);
}

const unitPattern = (p: string) => new RegExp(`^${p.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&').replace(/<name>/g, '[^.]+')}$`);

/** References to units that neither RAVE_UNITS nor UPSTREAM_UNITS records. */
export function unrecordedUnits(refs: readonly UnitReference[], upstream = UPSTREAM_UNITS, own = RAVE_UNITS): string[] {
  const patterns = [...own, ...Object.values(upstream).flat()].map(unitPattern);
  return refs
    .filter((r) => !patterns.some((p) => p.test(r.unit)))
    .map((r) => `${r.file}:${r.line}: ${r.unit} is neither a RAVE unit nor a recorded upstream one; read the module that defines it, then record it in tools/checks/upstream-options.ts.`);
}

export interface SecretReader {
  unit: string;
  /** The user the unit runs as. */
  user: string;
  /**
   * `file`: the process opens /run/secrets/<key> itself, so it must be the owner;
   * `credential`: systemd reads the file as root (LoadCredential=) and hands the unit a copy.
   */
  via: 'file' | 'credential';
}

/**
 * Who reads each key of config/secrets.yaml. sops-nix installs it as /run/secrets/<key> with mode
 * 0400 (its default), owned by sops.secrets.<key>.owner (root when unset) and that user's primary
 * group (modules/sops/default.nix). Readers named <service>.service are the upstream units of
 * UPSTREAM_UNITS; the others are RAVE's.
 */
export const SECRET_READERS: Record<string, { owner: string; readers: readonly SecretReader[] }> = {
  'gitlab/initial-root-password': { owner: 'gitlab', readers: [{ unit: 'gitlab-db-config.service', user: 'gitlab', via: 'file' }] },
  ...Object.fromEntries(
    ['secret', 'db', 'otp', 'jws', 'active-record-primary-key', 'active-record-deterministic-key', 'active-record-salt'].map((n) => [
      `gitlab/${n}`,
      { owner: 'gitlab', readers: [{ unit: 'gitlab-config.service', user: 'gitlab', via: 'file' }] },
    ]),
  ),
  'mattermost/gitlab-application-secret': { owner: 'root', readers: [{ unit: 'rave-mattermost-env.service', user: 'root', via: 'credential' }] },
  'outline/secret-key': { owner: 'outline', readers: [{ unit: 'outline.service', user: 'outline', via: 'file' }] },
  'outline/utils-secret': { owner: 'outline', readers: [{ unit: 'outline.service', user: 'outline', via: 'file' }] },
  'outline/oidc-client-secret': { owner: 'outline', readers: [{ unit: 'outline.service', user: 'outline', via: 'file' }] },
  'n8n/db-password': {
    owner: 'root',
    readers: [
      { unit: 'n8n.service', user: 'n8n (DynamicUser)', via: 'credential' },
      { unit: 'rave-postgresql-password-n8n.service', user: 'postgres', via: 'credential' },
    ],
  },
  'n8n/encryption-key': { owner: 'root', readers: [{ unit: 'n8n.service', user: 'n8n (DynamicUser)', via: 'credential' }] },
  'penpot/db-password': {
    owner: 'root',
    readers: [
      { unit: 'penpot-secrets-env.service', user: 'root', via: 'credential' },
      { unit: 'rave-postgresql-password-penpot.service', user: 'postgres', via: 'credential' },
    ],
  },
  'penpot/secret-key': { owner: 'root', readers: [{ unit: 'penpot-secrets-env.service', user: 'root', via: 'credential' }] },
  'grafana/admin-password': { owner: 'grafana', readers: [{ unit: 'grafana.service', user: 'grafana', via: 'file' }] },
  'grafana/secret-key': { owner: 'grafana', readers: [{ unit: 'grafana.service', user: 'grafana', via: 'file' }] },
  'grafana/db-password': {
    owner: 'grafana',
    readers: [
      { unit: 'grafana.service', user: 'grafana', via: 'file' },
      { unit: 'rave-postgresql-password-grafana.service', user: 'postgres', via: 'credential' },
    ],
  },
};

export interface FileAccess {
  path: string;
  /** Mode, owner and group (as `stat -c '%a %U %G'` prints them). */
  mode: string;
  readBy: string;
  /** `vm-test`: infra/nixos/configs/test.nix (the base configuration's VM test) asserts the mode; otherwise the file and the text in it that sets it. */
  setBy: 'vm-test' | { file: string; text: string };
}

/** Files and folders that RAVE creates and a service other than their creator reads. */
export const FILE_ACCESS: readonly FileAccess[] = [
  // nginx.service runs as nginx: every folder on the way must be traversable.
  { path: '/var/lib/rave', mode: '755 root root', readBy: 'nginx.service (user nginx)', setBy: 'vm-test' },
  { path: '/var/lib/rave/tls', mode: '755 root root', readBy: 'nginx.service (user nginx)', setBy: 'vm-test' },
  { path: '/var/lib/rave/tls/cert.pem', mode: '644 root root', readBy: 'nginx.service (user nginx)', setBy: 'vm-test' },
  { path: '/var/lib/rave/tls/key.pem', mode: '640 root nginx', readBy: 'nginx.service (group nginx), nobody else', setBy: 'vm-test' },
  {
    path: '/var/lib/sops-nix/key.txt',
    mode: '400 root root',
    readBy: 'sops-install-secrets.service (root)',
    setBy: { file: 'infra/nixos/modules/security/sops-bootstrap.nix', text: 'install -m 0400' },
  },
  {
    path: '/var/lib/sops-nix/secrets.yaml',
    mode: '400 root root',
    readBy: 'sops-install-secrets.service (root), as sops.defaultSopsFile',
    setBy: { file: 'infra/nixos/modules/security/sops-bootstrap.nix', text: 'install -m 0400 "$secretsCred" "$secrets"' },
  },
  {
    path: '/run/rave-mattermost/secrets.env',
    mode: '600 root root, in a 0700 folder',
    readBy: 'systemd (root), as EnvironmentFile= of mattermost.service',
    setBy: { file: 'infra/nixos/modules/services/mattermost/default.nix', text: 'UMask = "0077";' },
  },
  {
    path: '/run/penpot/secrets.env',
    mode: '600 root root, in a 0700 folder',
    readBy: 'podman (root), as --env-file of podman-penpot-backend.service',
    setBy: { file: 'infra/nixos/modules/services/penpot/default.nix', text: 'UMask = "0077";' },
  },
  // penpot/penpot docker/images/Dockerfile.backend and Dockerfile.frontend: useradd -u 1001 penpot, USER penpot:penpot.
  {
    path: '/var/lib/penpot/assets',
    mode: '750 1001 1001',
    readBy: 'the penpot backend (writes) and frontend (serves) containers, user and group penpot (1001)',
    setBy: { file: 'infra/nixos/modules/services/penpot/default.nix', text: '"d /var/lib/penpot/assets 0750 1001 1001 -"' },
  },
];

/**
 * Options no module of a NixOS test node may set. pkgs.testers.runNixOSTest sets node.pkgs
 * (pkgs/build-support/testers/default.nix), so node.pkgsReadOnly defaults to true and every node
 * imports nixos/modules/misc/nixpkgs/read-only.nix in place of misc/nixpkgs.nix
 * (nixos/lib/testing/nodes.nix). read-only.nix defines each of its options itself:
 * nixpkgs.config and nixpkgs.overlays are types.unique, nixpkgs.pkgs is types.pkgs (unique too),
 * nixpkgs.hostPlatform and nixpkgs.buildPlatform are readOnly, and nixpkgs.localSystem,
 * nixpkgs.crossSystem and nixpkgs.system are not declared at all; it also defines
 * _module.args.pkgs. Any further definition stops the test's evaluation ("defined multiple times
 * while it's expected to be unique", "read-only", "does not exist").
 */
export const READ_ONLY_IN_TEST_NODES: readonly string[][] = [['nixpkgs'], ['_module', 'args', 'pkgs']];

/**
 * Options no module of a node may set when its test sets node.pkgsReadOnly = false. Then the nodes
 * import misc/nixpkgs.nix instead of read-only.nix, the framework sets nixpkgs.system unless
 * nixpkgs.pkgs is defined (nixos/lib/testing/nodes.nix), and the nodes build pkgs from their own
 * nixpkgs.* options (nixpkgs' own n8n test, nixos/tests/n8n.nix, sets node.pkgsReadOnly = false).
 * misc/nixpkgs.nix defines _module.args.pkgs, a raw value that takes one definition.
 */
export const SET_BY_NIXPKGS_IN_TEST_NODES: readonly string[][] = [['_module', 'args', 'pkgs']];

/**
 * Modules from outside the repository that the VM tests import, by the import as written, each
 * read upstream: none sets an option of READ_ONLY_IN_TEST_NODES.
 */
export const UPSTREAM_MODULES_IN_TESTS: Record<string, string> = {
  // flake.nix passes sops-nix.nixosModules.sops.
  sopsModule:
    'Mic92/sops-nix modules/sops (default.nix, templates/, secrets-for-users/): defines sops.*, systemd.services, system.activationScripts, system.build and assertions, no nixpkgs.* option',
  'modulesPath + "/profiles/qemu-guest.nix"':
    'NixOS/nixpkgs nixos/modules/profiles/qemu-guest.nix: defines boot.initrd.availableKernelModules and boot.initrd.kernelModules only',
};

/**
 * Options of the NixOS test framework that the VM tests set beside their nodes (the module given to
 * pkgs.testers.runNixOSTest, evaluated with nixos/lib/testing/*.nix), and the test options RAVE
 * declares itself. `<name>` stands for any node name.
 */
export const TEST_FRAMEWORK_OPTIONS: Record<string, readonly string[]> = {
  // name.nix: name (str). nodes.nix: nodes (lazyAttrsOf a NixOS configuration), node.pkgsReadOnly
  // (bool, default node.pkgs != null; runNixOSTest sets node.pkgs, pkgs/build-support/testers/default.nix).
  // testScript.nix: testScript (either str (functionTo str); a function gets { nodes }).
  'NixOS/nixpkgs nixos/lib/testing/{name,nodes,testScript}.nix': ['name', 'nodes.<name>', 'node.pkgsReadOnly', 'testScript'],
  'RAVE infra/nixos/tests/profile-test-options.nix': ['profileTest.script', 'profileTest.extraScript'],
};

/**
 * Test-driver calls the test scripts make: methods of a machine (`machine.<method>(...)`) and the
 * driver's global functions, each with the parameter names it accepts as keywords. `machine` is the
 * test's only node (the driver also binds a single node to that name, Driver.test_symbols).
 */
export const TEST_DRIVER_API: Record<string, Record<string, readonly string[]>> = {
  // wait_for_unit(unit, user=None, timeout=900): fails at once on "failed", or "inactive" with no job
  // pending. wait_until_succeeds(command, timeout=900): retries every second. succeed(*commands,
  // timeout=None) and fail(*commands, timeout=None). wait_for_open_port(port, addr="localhost", timeout=900).
  'NixOS/nixpkgs nixos/lib/test-driver/src/test_driver/machine/__init__.py, class BaseMachine': {
    'machine.wait_for_unit': ['unit', 'user', 'timeout'],
    'machine.wait_until_succeeds': ['command', 'timeout'],
    'machine.succeed': ['commands', 'timeout'],
    'machine.fail': ['commands', 'timeout'],
    'machine.wait_for_open_port': ['port', 'addr', 'timeout'],
  },
  // A context manager that groups the log under a name (Driver.subtest).
  'NixOS/nixpkgs nixos/lib/test-driver/src/test_driver/driver.py, Driver.test_symbols': { subtest: ['name'] },
};

export interface DriverCall {
  line: number;
  /** `machine.<method>` or the global function's name. */
  call: string;
  /** Keyword arguments, when the call's parentheses close within the text. */
  keywords: string[];
}

const DRIVER_GLOBALS = ['subtest', 'start_all', 'join_all', 'create_machine', 'polling_condition', 'serial_stdout_on', 'serial_stdout_off', 'retry'];

/** Keyword names at the top level of a Python argument list that starts after `open` (skipping strings). */
function keywordsFrom(text: string, open: number): string[] | undefined {
  const keywords: string[] = [];
  let depth = 1;
  let quote = '';
  let last = '(';
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (text.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = '';
      }
      continue;
    }
    if (c === '"' || c === "'") {
      quote = text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length - 1;
      last = c;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth === 0) return keywords;
    if (depth === 1 && (last === '(' || last === ',')) {
      const m = /^\s*([A-Za-z_]\w*)\s*=(?!=)/.exec(text.slice(i));
      if (m) {
        keywords.push(m[1]);
        i += m[0].length - 1;
        last = '=';
        continue;
      }
    }
    if (!/\s/.test(c)) last = c;
  }
  return undefined;
}

/** The test-driver calls in a test script (or in the text of a Nix string that holds one). */
export function driverCalls(text: string, firstLine = 1): DriverCall[] {
  const out: DriverCall[] = [];
  const lineOf = (i: number) => firstLine + (text.slice(0, i).match(/\n/g) ?? []).length;
  for (const m of text.matchAll(/\bmachine\.([A-Za-z_]\w*)\s*\(/g)) {
    const open = (m.index ?? 0) + m[0].length - 1;
    out.push({ line: lineOf(m.index ?? 0), call: `machine.${m[1]}`, keywords: keywordsFrom(text, open) ?? [] });
  }
  for (const m of text.matchAll(new RegExp(`(?<![.\\w])(${DRIVER_GLOBALS.join('|')})\\s*\\(`, 'g'))) {
    if (/\bdef\s+$/.test(text.slice(0, m.index))) continue;
    const open = (m.index ?? 0) + m[0].length - 1;
    out.push({ line: lineOf(m.index ?? 0), call: m[1], keywords: keywordsFrom(text, open) ?? [] });
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Calls of driver functions or keywords that TEST_DRIVER_API does not record. */
export function unrecordedDriverCalls(calls: readonly DriverCall[], api = TEST_DRIVER_API): string[] {
  const known = Object.assign({}, ...Object.values(api)) as Record<string, readonly string[]>;
  const out: string[] = [];
  for (const c of calls) {
    const params = known[c.call];
    if (!params) out.push(`line ${c.line}: ${c.call} is not a recorded test-driver call; recorded: ${Object.keys(known).sort().join(', ')}`);
    else for (const k of c.keywords) if (!params.includes(k)) out.push(`line ${c.line}: ${c.call} has no parameter ${k} (recorded: ${params.join(', ')})`);
  }
  return out;
}

/** Settings of a test module (testModuleSettings) that TEST_FRAMEWORK_OPTIONS does not record. */
export function unrecordedTestSettings(settings: readonly { path: string[]; line: number }[], record = TEST_FRAMEWORK_OPTIONS): string[] {
  const patterns = Object.values(record)
    .flat()
    .map((p) => p.split('.'));
  return settings
    .filter((s) => !patterns.some((p) => matches(p, s.path)))
    .map((s) => `line ${s.line}: ${s.path.join('.')} is not a recorded option of the NixOS test framework; check nixos/lib/testing/ upstream, then record it in TEST_FRAMEWORK_OPTIONS (tools/checks/upstream-options.ts).`);
}

/**
 * What `vm-test-interactive` (packages/nx-nixos/src/nix/interactive-driver.ts) relies on in a check built by
 * pkgs.testers.runNixOSTest, by the upstream file that provides it. RAVE's checks are those results unchanged:
 * infra/nixos/lib/checks.nix passes profileTest's and moduleTest's values through, and every test file's
 * result is `pkgs.testers.runNixOSTest { ... }` (testFilesWithDriver; checked by a test).
 */
export const TEST_RESULT_ATTRIBUTES: Record<string, readonly string[]> = {
  // runNixOSTest = testModule: nixos.runTest { imports = [ testModule ]; hostPkgs = pkgs; node.pkgs = ...; }
  // (pkgs/build-support/testers/default.nix); runTest returns config.test (nixos/lib/testing/default.nix), a
  // lazyDerivation that inherits config.passthru (run.nix); interactive.nix sets
  // passthru.driverInteractive = config.interactive.driver, with interactive.extraDriverArgs = [ "--interactive" ]
  // and interactive.qemu.package = hostPkgs.qemu.
  'NixOS/nixpkgs nixos/lib/testing/{default,run,interactive}.nix, pkgs/build-support/testers/default.nix': ['driverInteractive'],
  // driver.nix: ln -s <test driver>/bin/nixos-test-driver $out/bin/nixos-test-driver, then wrapProgram adds
  // --config <driver configuration> and the extraDriverArgs. test_driver/__init__.py: --interactive opens
  // ptpython's REPL over Driver.test_symbols() (start_all, test_script, the machines), with its history in
  // .nixos-test-history of the working folder. The machines' QEMU asks for KVM and falls back to TCG unless the
  // test sets qemu.forceAccel (default false, driver.nix).
  'NixOS/nixpkgs nixos/lib/testing/driver.nix, nixos/lib/test-driver/src/test_driver/__init__.py': ['bin/nixos-test-driver'],
};

/** The files whose result is a check: each is `pkgs.testers.runNixOSTest { ... }` at its top level. */
export const testFilesWithDriver = (nixFiles: readonly string[]): string[] =>
  nixFiles.filter((f) => f === 'infra/nixos/tests/profile.nix' || (f.startsWith('infra/nixos/') && f.endsWith('/test.nix')));
