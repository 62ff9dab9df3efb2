/**
 * The guest side of `nx run <profile>:secrets` in RAVE's images: nx-nixos-reload-credentials and the boot
 * script of rave-sops-age-key, as infra/nixos/modules/security/sops-bootstrap.nix writes them. Without
 * network the flake cannot be evaluated against nixpkgs, so the module is evaluated with the few lib and
 * pkgs functions it calls stubbed; the scripts it produces are the real ones: checked by shellcheck (as
 * writeShellApplication does when it builds) and run against a fake systemctl that plays
 * sops-install-secrets (decrypting = copying lines of the secrets file).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from '../../packages/nx-nixos/src/nix/command';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { REPO_ROOT } from './repo-nix';

const STAGING = '/run/nx-nixos/credentials';

/** The module's config for a system with two Grafana secrets, every path under `root`. */
const moduleScripts = (root: string) => `
let
  lib = {
    mkOption = o: o;
    types = { bool = "bool"; path = "path"; str = "str"; strMatching = _: "str"; };
    literalExpression = x: x;
    escapeShellArg = a: "'" + builtins.replaceStrings [ "'" ] [ "'\\\\''" ] (toString a) + "'";
    concatMapStrings = f: l: builtins.concatStringsSep "" (map f l);
    concatStringsSep = builtins.concatStringsSep;
    mkIf = _: x: x;
  };
  secret = name: units: { inherit name; path = "${root}/run/secrets/\${name}"; restartUnits = units; };
  config = {
    security.rave.sopsBootstrap = {
      enable = true;
      credentialName = "sops-age-key";
      secretsCredentialName = "sops-secrets";
      keyFile = "${root}/var/key.txt";
      runtimeSecretsFile = "${root}/var/secrets.yaml";
      userKeyFile = "${root}/none";
      secretsFile = "${root}/image-secrets.yaml";
    };
    sops.secrets = {
      "grafana/admin-password" = secret "grafana/admin-password" [ "grafana.service" ];
      "grafana/db-password" = secret "grafana/db-password" [ "rave-postgresql-password-grafana.service" "grafana.service" ];
    };
    systemd.package = "/systemd";
  };
  pkgs = { writeShellApplication = a: a; coreutils = "/coreutils"; };
  m = import ./infra/nixos/modules/security/sops-bootstrap.nix { inherit config lib pkgs; };
in {
  hook = builtins.head m.config.environment.systemPackages;
  boot = m.config.systemd.services.rave-sops-age-key.script;
}`;

describeIfTools(['nix-instantiate', 'shellcheck', 'bash'])('nx-nixos-reload-credentials of the RAVE image', () => {
  jest.setTimeout(60_000);
  let root: string;
  let hook: { name: string; text: string };
  let boot: string;
  const env = () => ({ PATH: `${join(root, 'bin')}:/usr/bin:/bin` });
  const stage = (name: string, content: string) => writeFileSync(join(root, 'staged', name), content, { mode: 0o600 });
  const reload = (...names: string[]) => spawnSync(join(root, 'bin', hook.name), names, { env: env(), encoding: 'utf8' });
  const systemctlCalls = () => {
    const log = join(root, 'systemctl.log');
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    rmSync(log, { force: true });
    return calls;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'nx-nixos-reload-'));
    const result = await runNix('nix-instantiate', ['--eval', '--strict', '--json', '--expr', moduleScripts(root)], { cwd: REPO_ROOT });
    if (result.code !== 0) throw new Error(`nix-instantiate failed: ${result.stderrTail.join('\n')}`);
    ({ hook, boot } = JSON.parse(result.stdout) as { hook: { name: string; text: string }; boot: string });
    for (const dir of ['bin', 'staged', 'var', 'run/secrets/grafana']) mkdirSync(join(root, dir), { recursive: true });
    // writeShellApplication's preamble, and the staging folder moved under root.
    const script = `#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n${hook.text.split(STAGING).join(join(root, 'staged'))}`;
    writeFileSync(join(root, 'bin', hook.name), script, { mode: 0o755 });
    // sops-install-secrets, played: line 1 of the secrets file is the admin password, line 2 the database's.
    const secrets = join(root, 'run/secrets/grafana');
    writeFileSync(
      join(root, 'bin', 'systemctl'),
      `#!/bin/sh\necho "$*" >> ${root}/systemctl.log\nsed -n 1p ${root}/var/secrets.yaml > ${secrets}/admin-password\nsed -n 2p ${root}/var/secrets.yaml > ${secrets}/db-password\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(root, 'var/secrets.yaml'), 'admin-1\ndb-1\n');
    spawnSync(join(root, 'bin', 'systemctl'), ['boot'], { env: env() });
    systemctlCalls();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is named as the plugin calls it and passes shellcheck, as does the boot script', () => {
    expect(hook.name).toBe('nx-nixos-reload-credentials');
    const checked = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: `#!/usr/bin/env bash\n${hook.text}`, encoding: 'utf8' });
    expect(checked.stdout).toBe('');
    expect(checked.status).toBe(0);
    const bootChecked = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: `#!/usr/bin/env bash\n${boot}`, encoding: 'utf8' });
    expect(bootChecked.stdout).toBe('');
  });

  it('does nothing for the file it already has; for a changed one, re-runs sops-nix and names the changed secrets and their units', () => {
    stage('sops-secrets', 'admin-1\ndb-1\n');
    const same = reload('sops-secrets');
    expect(same.stdout).toBe('unchanged; nothing restarted\n');
    expect(same.status).toBe(0);
    expect(readdirSync(join(root, 'staged'))).toEqual([]);
    expect(() => systemctlCalls()).toThrow();

    stage('sops-secrets', 'admin-2\ndb-1\n');
    const one = reload('sops-secrets');
    expect(one.stdout).toBe('changed: grafana/admin-password\nrestarted: grafana.service\n');
    expect(one.status).toBe(0);
    expect(systemctlCalls()).toEqual(['restart sops-install-secrets.service']);
    expect(readFileSync(join(root, 'var/secrets.yaml'), 'utf8')).toBe('admin-2\ndb-1\n');
    expect(statSync(join(root, 'var/secrets.yaml')).mode & 0o777).toBe(0o400);

    stage('sops-secrets', 'admin-3\ndb-3\n');
    expect(reload('sops-secrets').stdout).toBe('changed: grafana/admin-password grafana/db-password\nrestarted: grafana.service rave-postgresql-password-grafana.service\n');
    systemctlCalls();
  });

  it('installs a new age key; when the secrets decrypt as before, nothing restarts', () => {
    stage('sops-age-key', 'AGE-SECRET-KEY-TEST\n');
    const result = reload('sops-age-key');
    expect(result.stdout).toBe('changed: no secret (the files decrypt as before); nothing restarted\n');
    expect(readFileSync(join(root, 'var/key.txt'), 'utf8')).toBe('AGE-SECRET-KEY-TEST\n');
    expect(systemctlCalls()).toEqual(['restart sops-install-secrets.service']);
    expect(result.stdout + result.stderr).not.toContain('AGE-SECRET-KEY-TEST');
  });

  it('refuses a credential it does not apply, installing none of them', () => {
    stage('sops-age-key', 'AGE-SECRET-KEY-OTHER\n');
    stage('other', 'x');
    const result = reload('sops-age-key', 'other');
    expect(result.stderr).toBe('other: this guest applies the credentials sops-age-key and sops-secrets only; nothing was installed\n');
    expect(result.status).toBe(2);
    expect(readFileSync(join(root, 'var/key.txt'), 'utf8')).toBe('AGE-SECRET-KEY-TEST\n');
    expect(readdirSync(join(root, 'staged'))).toEqual([]);
  });
});

