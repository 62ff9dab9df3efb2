import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDiskFixture, FIXTURE_HTTP_PORT } from '../../../../../tools/fixtures/vm-fixture';
import { pushToCache } from '../../nix/copy';
import { describeIfTools } from '../../testing/tools';
import { createTestWorkspace, fixtureProfile, hermeticFlake, profileJson, type TestWorkspace } from '../../testing/workspace';

jest.setTimeout(600_000);

const HOST_PORT = 27080 + (process.pid % 500);
// Makes the image's store path this run's own, so deleting it cannot disturb anyone else's.
const nonce = `true disk-${process.pid}-${Date.now()}; `;

async function get(path: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${HOST_PORT}${path}`);
  expect(response.status).toBe(200);
  return response.text();
}

describeIfTools(['nix', 'nix-store', 'git', 'qemu-system-x86_64', 'qemu-img', 'apt-get', 'dpkg', 'cpio'])(
  'launch of a bootable qcow2 disk image through real nx (TCG)',
  () => {
    let ws: TestWorkspace;
    let storePath: string;
    let overlay: string;
    const tmp = mkdtempSync(join(tmpdir(), 'nx-nixos-disk-'));

    const launch = (...args: string[]) => {
      const run = ws.nx(['run', 'fixture:start', '--accel', 'tcg', ...args]);
      if (run.code !== 0) throw new Error(`launch failed (${run.code}):\n${run.output}`);
      return run.output;
    };
    const stop = () => {
      const run = ws.nx(['run', 'fixture:stop']);
      expect(run.code).toBe(0);
      expect(run.output).toMatch(/fixture "default" stopped \(powerdown, [\d.]+ s\)/);
    };

    beforeAll(() => {
      const fixture = ensureDiskFixture((line) => console.log(line));
      ws = createTestWorkspace({
        files: {
          'flake.nix': hermeticFlake({ packages: { fixture: nonce + '$bb mkdir $out; $bb cp ${./vm/disk.qcow2} $out/nixos.qcow2' } }),
          'vm/disk.qcow2': readFileSync(fixture.disk),
          'profiles/fixture/profile.json': profileJson(
            fixtureProfile('fixture', {
              image: { kind: 'disk', format: 'qcow2', file: 'nixos.qcow2' },
              ports: [{ name: 'http', guest: FIXTURE_HTTP_PORT, host: HOST_PORT }],
              services: [{ name: 'Web', port: 'http', scheme: 'http', path: '/' }],
              readiness: { port: 'http', probe: 'http', path: '/', timeoutSeconds: 180 },
            }),
          ),
        },
      });
      const built = ws.nx(['run', 'fixture:build-image']);
      if (built.code !== 0) throw new Error(`build-image failed:\n${built.output}`);
      storePath = JSON.parse(readFileSync(join(ws.root, 'artifacts/images/fixture/manifest.json'), 'utf8')).storePath;
      overlay = join(ws.root, 'artifacts/vms/fixture/default/disk.qcow2');
    });
    afterAll(() => {
      ws?.nx(['run', 'fixture:stop', '--grace-seconds', '0']);
      ws?.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('boots the disk through a copy-on-write overlay; what the guest writes survives a relaunch; --fresh starts from the image', async () => {
      const base = `${storePath}/nixos.qcow2`;
      const first = launch();
      expect(first).toContain(`Created the disk ${overlay} over ${base}.`);
      expect(first).toContain('fixture is ready (instance "default", TCG)');
      expect(first).toContain(`Web  http://127.0.0.1:${HOST_PORT}/`);
      expect(await get('/')).toBe('fixture guest is up\n');
      // The guest counts its boots in a file on its own disk.
      expect(await get('/boots')).toBe('1\n');

      const info = spawnSync('qemu-img', ['info', '--output=json', '-U', overlay], { encoding: 'utf8' });
      expect(info.status).toBe(0);
      expect(JSON.parse(info.stdout)).toMatchObject({ format: 'qcow2', 'backing-filename': base, 'backing-filename-format': 'qcow2' });
      const state = JSON.parse(readFileSync(join(ws.root, 'artifacts/vms/fixture/default/state.json'), 'utf8'));
      expect(state.image).toEqual({ storePath, kind: 'disk', base });
      expect(state.overlay).toBe(overlay);
      stop();

      const second = launch();
      expect(second).toContain(`Reusing the disk ${overlay} (--fresh discards it).`);
      expect(await get('/boots')).toBe('2\n');
      stop();

      const fresh = launch('--fresh');
      expect(fresh).toContain(`Created the disk ${overlay} over ${base}.`);
      expect(await get('/boots')).toBe('1\n');
      stop();
      expect(readFileSync(join(ws.root, 'artifacts/vms/fixture/default/serial.log'), 'utf8')).toContain('fixture: boot 1 of this disk');
      // The guest wrote to the overlay only: the image in the store still has its recorded hash.
      expect(ws.run('nix-store', ['--verify-path', storePath]).code).toBe(0);
    });

    it('realises an image missing from the store from the binary cache given to launch (substituters, trustedPublicKeys)', async () => {
      const keys = ws.run('nix-store', ['--generate-binary-cache-key', 'rave-launch-test-1', join(tmp, 'secret'), join(tmp, 'public')]);
      expect(keys.code).toBe(0);
      const cache = `file://${join(tmp, 'cache')}?compression=zstd`;
      const pushed = await pushToCache({ cwd: ws.root, paths: [storePath], to: cache, signingKeyFile: join(tmp, 'secret') });
      expect(pushed).toMatchObject({ ok: true });

      rmSync(join(ws.root, 'artifacts/images/fixture/result'), { force: true });
      expect(ws.run('nix-store', ['--delete', storePath]).code).toBe(0);
      expect(existsSync(storePath)).toBe(false);

      const output = launch(`--substituters=${cache}`, `--trustedPublicKeys=${readFileSync(join(tmp, 'public'), 'utf8').trim()}`);
      expect(output).toContain(`Image substituted: ${storePath}`);
      expect(output).not.toContain('Rebuilding');
      // The overlay kept from the first test sits over the same base path, now substituted.
      expect(output).toContain(`Reusing the disk ${overlay}`);
      expect(await get('/boots')).toBe('2\n');
      stop();
    });
  },
);
