import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageManifestSchema } from '../src/nix/image';
import { describeIfTools } from '../src/testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../src/testing/workspace';

jest.setTimeout(600_000);

const nonce = `true ${process.pid}-${Date.now()}; `;
const flake = hermeticFlake({
  packages: { development: nonce + '$bb mkdir $out; echo "building the development image"; echo disk > $out/nixos.qcow2' },
  checks: { smoke: nonce + 'echo "smoke test ran"; echo ok > $out' },
});

/**
 * Two loopback servers in a child process (the tests block their own event loop while nx runs):
 * a static file server over the `file://` binary cache (what an nginx in front of the cache folder does), and
 * the Nx self-hosted remote cache of the Nx OpenAPI spec (GET/PUT /v1/cache/{hash} carrying tar archives).
 */
const SERVERS = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const dir = process.argv[1], store = new Map();
const files = http.createServer((req, res) => {
  const file = path.join(dir, path.normalize(decodeURIComponent(req.url.split('?')[0])));
  if (!file.startsWith(dir) || !fs.existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200).end(fs.readFileSync(file));
});
const nx = http.createServer((req, res) => {
  const hash = /^\\/v1\\/cache\\/([^/?]+)/.exec(req.url)?.[1];
  if (!hash) return res.writeHead(404).end();
  if (req.method === 'GET') {
    if (!store.has(hash)) return res.writeHead(404).end();
    process.stdout.write('hit ' + hash + '\\n');
    return res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(store.get(hash));
  }
  if (req.method !== 'PUT') return res.writeHead(405).end();
  if (store.has(hash)) return res.writeHead(409).end();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => { store.set(hash, Buffer.concat(chunks)); process.stdout.write('put ' + hash + '\\n'); res.writeHead(200).end(); });
});
files.listen(0, '127.0.0.1', () => nx.listen(0, '127.0.0.1', () =>
  process.stdout.write('ports ' + files.address().port + ' ' + nx.address().port + '\\n')));
`;

/** The manifest is whole and valid, and no temporary file of an interrupted write is left beside it. */
function expectCompleteManifest(root: string) {
  const dir = join(root, 'artifacts/images/development');
  expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'result']);
  return imageManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
}

/** Lets the servers' output, piped while nx ran synchronously, arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

function startServers(dir: string): Promise<{ child: ChildProcess; binaryPort: number; nxPort: number; events: string[] }> {
  const child = spawn(process.execPath, ['-e', SERVERS, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: string[] = [];
  return new Promise((resolve) => {
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const ports = /^ports (\d+) (\d+)$/.exec(line);
        if (ports) resolve({ child, binaryPort: Number(ports[1]), nxPort: Number(ports[2]), events });
        else events.push(line);
      }
    });
  });
}

describeIfTools(['nix', 'nix-store', 'git'])('two machines sharing an Nx remote cache and a signed binary cache', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nx-nixos-caches-'));
  const cacheDir = join(tmp, 'binary-cache');
  let servers: Awaited<ReturnType<typeof startServers>>;
  let a: TestWorkspace;
  let b: TestWorkspace;
  let secretKey: string;
  let publicKey: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    mkdirSync(cacheDir);
    const keygen = spawnSync('nix-store', ['--generate-binary-cache-key', 'rave-test-1', join(tmp, 'secret'), join(tmp, 'public')], { encoding: 'utf8' });
    expect(keygen.status).toBe(0);
    secretKey = readFileSync(join(tmp, 'secret'), 'utf8').trim();
    publicKey = readFileSync(join(tmp, 'public'), 'utf8').trim();
    servers = await startServers(cacheDir);
    const { binaryPort, nxPort } = servers;
    env = { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: `http://127.0.0.1:${nxPort}` };

    // The same team configuration on both machines: substitute from the HTTP cache, push to the folder it serves.
    const options = {
      substituters: [`http://127.0.0.1:${binaryPort}`],
      trustedPublicKeys: [publicKey],
      pushTo: `file://${cacheDir}`,
      signingKeyFile: 'keys/cache-secret',
    };
    const machine = () => {
      const ws = createTestWorkspace({
        files: {
          'flake.nix': flake,
          'profiles/development/profile.json': profileJson(fixtureProfile('development', { tests: ['smoke'] })),
        },
        pluginOptions: { vmTestDependsOnImage: true },
      });
      const nxJson = JSON.parse(readFileSync(join(ws.root, 'nx.json'), 'utf8'));
      nxJson.targetDefaults = { 'build-image': { options }, 'vm-test': { options } };
      ws.write('nx.json', JSON.stringify(nxJson, null, 2));
      ws.write('.gitignore', readFileSync(join(ws.root, '.gitignore'), 'utf8') + 'keys/\n');
      ws.commit('team cache configuration');
      ws.write('keys/cache-secret', secretKey + '\n');
      return ws;
    };
    a = machine();
    b = machine();
  });

  afterAll(async () => {
    a?.cleanup();
    b?.cleanup();
    servers?.child.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('A builds and pushes a signed image without printing the key; B hits the Nx cache; B realises the deleted image by substitution', async () => {
    const built = a.nx(['run', 'development:build-image'], { env });
    expect(built.code).toBe(0);
    expect(readFileSync(join(a.root, 'artifacts/logs/development/build-image.log'), 'utf8')).toContain('building the development image');
    expect(built.output).toMatch(/pushed to file:\/\//);
    expect(built.output).not.toContain(secretKey.split(':')[1]);
    const manifest = JSON.parse(readFileSync(join(a.root, 'artifacts/images/development/manifest.json'), 'utf8'));
    const hashPart = manifest.storePath.slice('/nix/store/'.length, '/nix/store/'.length + 32);
    const narinfo = readFileSync(join(cacheDir, `${hashPart}.narinfo`), 'utf8');
    expect(narinfo).toContain(`StorePath: ${manifest.storePath}`);
    expect(narinfo).toMatch(/^Sig: rave-test-1:/m);
    // Signed while copying, compressed with zstd rather than Nix's default xz.
    expect(narinfo).toMatch(/^Compression: zstd$/m);
    await settle();
    expect(servers.events.some((e) => e.startsWith('put '))).toBe(true);

    const hit = b.nx(['run', 'development:build-image'], { env });
    expect(hit.code).toBe(0);
    expect(hit.output).toContain('remote cache');
    // Nx replays A's output; B ran no build, so B has no build log.
    expect(existsSync(join(b.root, 'artifacts/logs/development/build-image.log'))).toBe(false);
    await settle();
    expect(servers.events.some((e) => e.startsWith('hit '))).toBe(true);
    expect(JSON.parse(readFileSync(join(b.root, 'artifacts/images/development/manifest.json'), 'utf8'))).toEqual(manifest);

    // Take the image out of the (shared) local store: drop both GC roots, then delete it.
    rmSync(join(a.root, 'artifacts/images/development/result'), { force: true });
    rmSync(join(b.root, 'artifacts/images/development/result'), { force: true });
    const deleted = b.run('nix-store', ['--delete', manifest.storePath]);
    expect(deleted.code).toBe(0);
    expect(b.run('nix-store', ['--check-validity', manifest.storePath]).code).not.toBe(0);

    const tested = b.nx(['run', 'development:vm-test'], { env });
    expect(tested.code).toBe(0);
    expect(tested.output).toContain(`Image substituted: ${manifest.storePath}`);
    expect(tested.output).not.toContain('Rebuilding');
    expect(existsSync(join(b.root, 'artifacts/logs/development/build-image.log'))).toBe(false);
    expect(tested.output).toContain('smoke: passed');
    expect(b.run('nix-store', ['--check-validity', manifest.storePath]).code).toBe(0);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.narinfo')).length).toBeGreaterThanOrEqual(2);
  });

  it('a wrong signing key is a warning with the reason, never printed; the build succeeds with a complete manifest', () => {
    const wrongKeys = [
      { file: 'keys/wrong', content: 'not a key at all: c2VjcmV0LW1hdGVyaWFsLXRoYXQtbXVzdC1ub3Qtc2hvdw==', reason: /keys\/wrong is not a Nix secret key/ },
      // Shaped like a key, but Nix cannot sign with it.
      { file: 'keys/corrupt', content: 'corrupt-1:c2VjcmV0LW1hdGVyaWFsLXRoYXQtbXVzdC1ub3Qtc2hvdw==', reason: /failed: .*secret key is not valid/ },
    ];
    for (const key of wrongKeys) {
      b.write(key.file, key.content + '\n');
      const run = b.nx(['run', 'development:build-image', `--signingKeyFile=${key.file}`, '--skip-nx-cache'], { env });
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/warning: the image was built but not pushed to file:\/\//);
      expect(run.output).toMatch(key.reason);
      expect(run.output).not.toContain('c2VjcmV0LW1hdGVyaWFsLXRoYXQtbXVzdC1ub3Qtc2hvdw');
      expect(expectCompleteManifest(b.root).storePath).toMatch(/-development$/);
    }
  });

  it('an unreachable push target is a warning with the reason', () => {
    const run = b.nx(['run', 'development:build-image', '--pushTo=http://127.0.0.1:9/cache', '--skip-nx-cache'], { env });
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/warning: the image was built but not pushed to http:\/\/127\.0\.0\.1:9\/cache: nix copy .* failed: .+/);
    expectCompleteManifest(b.root);
  });

  it('an untrusted signature or an unreachable cache on the substitution side is named, and no half-written manifest is left', () => {
    const file = join(b.root, 'artifacts/images/development/manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    const dropImage = () => {
      for (const ws of [a, b]) rmSync(join(ws.root, 'artifacts/images/development/result'), { force: true });
      expect(b.run('nix-store', ['--delete', manifest.storePath]).code).toBe(0);
    };
    const otherKey = join(tmp, 'other');
    expect(spawnSync('nix-store', ['--generate-binary-cache-key', 'someone-else-1', join(tmp, 'other-secret'), otherKey]).status).toBe(0);

    dropImage();
    const untrusted = b.nx(['run', 'development:vm-test', `--trustedPublicKeys=${readFileSync(otherKey, 'utf8').trim()}`, '--skip-nx-cache', '--excludeTaskDependencies'], {
      env,
    });
    expect(untrusted.output).toMatch(/no signature on it matches trustedPublicKeys \(someone-else-1\)/);
    expect(untrusted.output).toContain('Rebuilding');
    expect(expectCompleteManifest(b.root)).toEqual(manifest);

    dropImage();
    const unreachable = b.nx(['run', 'development:vm-test', '--substituters=http://127.0.0.1:9', '--skip-nx-cache', '--excludeTaskDependencies'], { env });
    expect(unreachable.output).toMatch(/the cache http:\/\/127\.0\.0\.1:9 could not be reached|no cache has it/);
    expect(expectCompleteManifest(b.root)).toEqual(manifest);
  });
});
