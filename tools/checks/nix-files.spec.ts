import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from '../../packages/nx-nixos/src/nix/command';
import { loadProfile } from '../../packages/nx-nixos/src/profile/load';
import { enabledServices } from '../../packages/nx-nixos/src/profile/schema';
import { describeIfTools } from '../../packages/nx-nixos/src/testing/tools';
import { REPO_ROOT, readRepoFile, repoNixFiles, repoProfiles } from './repo-nix';

// Offline checks of the flake's Nix code: everything that needs no nixpkgs and no network.
const describeWithNix = describeIfTools(['nix-instantiate', 'git']);

async function evalJson<T>(expr: string, cwd = REPO_ROOT): Promise<T> {
  const result = await runNix('nix-instantiate', ['--eval', '--strict', '--json', '--expr', expr], { cwd });
  if (result.code !== 0) throw new Error(`nix-instantiate --eval ${expr}\n${result.stderrTail.join('\n')}`);
  return JSON.parse(result.stdout) as T;
}

const PROFILES_EXPR = 'import ./infra/nixos/lib/profiles.nix { profilesDir = ./profiles; }';
const SERVICE_FEATURES = ['gitlab', 'mattermost', 'outline', 'n8n', 'penpot', 'monitoring'];

describeWithNix("the flake's Nix files, offline", () => {
  jest.setTimeout(60_000);

  it('parses every .nix file in the repository', async () => {
    const files = repoNixFiles();
    // Among them the VM tests: the base configuration's, the six service modules', the profile test
    // and the helpers that build it.
    expect(files).toEqual(
      expect.arrayContaining([
        'flake.nix',
        'infra/nixos/configs/base.nix',
        'infra/nixos/configs/test.nix',
        ...['gitlab', 'mattermost', 'outline', 'n8n', 'penpot', 'monitoring'].map((s) => `infra/nixos/modules/services/${s}/test.nix`),
        'infra/nixos/tests/profile.nix',
        'infra/nixos/tests/node.nix',
        'infra/nixos/lib/profile-test-script.nix',
        'infra/nixos/lib/module-tests.nix',
        'infra/nixos/lib/checks.nix',
      ]),
    );
    const failures: string[] = [];
    for (const file of files) {
      const result = await runNix('nix-instantiate', ['--parse', file], { cwd: REPO_ROOT });
      if (result.code !== 0) failures.push(`${file}:\n${result.stderrTail.join('\n')}`);
    }
    expect(failures).toEqual([]);
  });

  it('infra/nixos/lib/profiles.nix evaluates to exactly the profile.json files', async () => {
    const evaluated = await evalJson<Record<string, unknown>>(PROFILES_EXPR);
    const names = repoProfiles();
    expect(names).toEqual(expect.arrayContaining(['demo', 'development', 'production']));
    expect(Object.keys(evaluated).sort()).toEqual(names);
    for (const name of names) expect(evaluated[name]).toEqual(JSON.parse(readRepoFile(`profiles/${name}/profile.json`)));
  });

  it('profiles.nix rejects a profile whose name differs from its folder, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rave-profiles-'));
    try {
      mkdirSync(join(dir, 'profiles', 'alpha'), { recursive: true });
      mkdirSync(join(dir, 'profiles', 'no-metadata'), { recursive: true });
      writeFileSync(join(dir, 'profiles', 'alpha', 'profile.json'), JSON.stringify({ name: 'beta' }));
      const expr = `import ${join(REPO_ROOT, 'infra/nixos/lib/profiles.nix')} { profilesDir = ${join(dir, 'profiles')}; }`;
      await expect(evalJson(expr, dir)).rejects.toThrow(/alpha\/profile\.json: field "name" is "beta" but the folder is "alpha"/);
      writeFileSync(join(dir, 'profiles', 'alpha', 'profile.json'), JSON.stringify({ name: 'alpha', x: [1, true, null] }));
      // Folders without profile.json are not profiles.
      await expect(evalJson(expr, dir)).resolves.toEqual({ alpha: { name: 'alpha', x: [1, true, null] } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the welcome dashboard lists the same services, paths and ports that launch prints', async () => {
    for (const name of repoProfiles()) {
      const dashboard = await evalJson<{ name: string; port: string; scheme: string; path: string }[]>(
        `import ./infra/nixos/lib/services.nix (${PROFILES_EXPR}).${name}`,
      );
      const profile = loadProfile(join(REPO_ROOT, 'profiles', name, 'profile.json'));
      const launch = enabledServices(profile).map(({ name: n, port, scheme, path }) => ({ name: n, port, scheme, path }));
      expect(dashboard.map(({ name: n, port, scheme, path }) => ({ name: n, port, scheme, path }))).toEqual(launch);
    }
  });

  it('service-host.nix gives a service its own origin on the public port and redirects its profile path there', async () => {
    const helper = (base: string) =>
      `import ./infra/nixos/lib/service-host.nix { rave = { publicBaseUrl = "${base}"; tls = { certificateFile = "/c.pem"; keyFile = "/k.pem"; }; }; }`;
    await expect(evalJson(`(${helper('https://localhost:8443')}).originOf "gitlab.localhost"`)).resolves.toBe('https://gitlab.localhost:8443');
    await expect(evalJson(`(${helper('https://rave.example.org/')}).originOf "gitlab.rave.example.org"`)).resolves.toBe(
      'https://gitlab.rave.example.org',
    );
    await expect(evalJson(`(${helper('http://rave.test:8080/x/')}).originOf "a.b"`)).resolves.toBe('http://a.b:8080');
    await expect(evalJson(`(${helper('localhost:8443')}).originOf "a.b"`)).rejects.toThrow(
      /services\.rave\.publicBaseUrl "localhost:8443" is not an http\(s\) URL/,
    );

    const host = await evalJson<{
      services: {
        rave: { tls: { extraHostNames: string[] } };
        nginx: { virtualHosts: Record<string, { serverName?: string; forceSSL?: boolean; sslCertificate?: string; sslCertificateKey?: string; locations: Record<string, unknown> }> };
      };
    }>(
      `(${helper('https://localhost:8443')}).mkServiceHost { name = "rave-outline"; hostName = "outline.localhost"; path = "/outline/"; url = "https://outline.localhost:8443/"; locations."/".proxyPass = "http://127.0.0.1:3000"; }`,
    );
    expect(host.services.rave.tls.extraHostNames).toEqual(['outline.localhost']);
    expect(host.services.nginx.virtualHosts['rave-outline']).toEqual({
      serverName: 'outline.localhost',
      forceSSL: true,
      sslCertificate: '/c.pem',
      sslCertificateKey: '/k.pem',
      locations: { '/': { proxyPass: 'http://127.0.0.1:3000' } },
    });
    expect(host.services.nginx.virtualHosts.rave.locations).toEqual({ '/outline/': { return: '302 https://outline.localhost:8443/' } });
  });

  it('each profile.nix enables exactly the services its profile.json features enable', async () => {
    for (const name of repoProfiles()) {
      const json = JSON.parse(readRepoFile(`profiles/${name}/profile.json`)) as { features: Record<string, boolean> };
      const module = await evalJson<{ rave: { profile: unknown }; services: { rave: Record<string, { enable?: boolean }> } }>(
        `let m = import ./profiles/${name}/profile.nix { }; in { inherit (m) rave; services.rave = m.services.rave; }`,
      );
      expect(module.rave.profile).toEqual(json);
      for (const feature of SERVICE_FEATURES) expect({ feature, enable: module.services.rave[feature]?.enable }).toEqual({ feature, enable: json.features[feature] });
    }
  });

  it('the development profile keeps Outline, n8n and Penpot off in 8 GiB and 30 GB', () => {
    const dev = loadProfile(join(REPO_ROOT, 'profiles/development/profile.json'));
    expect(dev.features).toMatchObject({ outline: false, n8n: false, penpot: false });
    expect(dev.resources).toMatchObject({ memoryMiB: 8192, diskGiB: 30 });
    const production = loadProfile(join(REPO_ROOT, 'profiles/production/profile.json'));
    expect(SERVICE_FEATURES.filter((f) => production.features[f] !== true)).toEqual([]);
  });

  it('every image.file is the plain file name the qemu image builder writes (<baseName>.<format>)', () => {
    for (const name of repoProfiles()) {
      const { image } = loadProfile(join(REPO_ROOT, 'profiles', name, 'profile.json'));
      expect(image.kind).toBe('disk');
      if (image.kind === 'disk') expect(image.file).toMatch(new RegExp(`^[^/]+\\.${image.format}$`));
    }
  });
});
