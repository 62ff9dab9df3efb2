/**
 * hygiene on a generated repository of 100,000 tracked files (sources, Nix modules, docs, a few large
 * binaries, a handful of planted problems):
 * - after one warm-up round, RUNS rounds that each measure every variant below in turn; medians:
 * - whole-repo hygiene in process (git ls-files, read, every rule, json report), with
 *   the plugin code Nx would load (dist/ when current, see load.js), on every core and on one thread;
 *   both must report exactly the planted problems, and the same findings;
 * - the baseline measured in the same process: `git ls-files -z` plus reading every text file it scans;
 * - the CLI as a pre-commit hook runs it (node startup included), median of RUNS;
 * - the secret rules alone over the texts already in memory, and secretlint with its recommended
 *   preset over the same tree (standalone CLI, median of SECRETLINT_RUNS), and their ratio.
 * Run: node -r @swc-node/register tools/bench/hygiene.ts [runs] [files] [secretlint-runs] [secretlint-limit-ms]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadavg } from 'node:os';
import { checkNixPlaintext } from '../../packages/nx-nixos/src/checks/hygiene/nix';
import type { runHygiene as RunHygiene } from '../../packages/nx-nixos/src/checks/hygiene/run';
import type { scanRepository as ScanRepository } from '../../packages/nx-nixos/src/checks/hygiene/scan';
import type { parseHygieneOptions as ParseHygieneOptions } from '../../packages/nx-nixos/src/checks/hygiene/options';
import { checkPrivateKeys, checkTokens } from '../../packages/nx-nixos/src/checks/hygiene/tokens';
import { median, timeMs, writeResults } from './lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- load.js is untyped JavaScript; it picks dist/ as Nx does
const { loadModule } = require('../../packages/nx-nixos/load.js') as { loadModule: (module: string) => unknown };
const { runHygiene } = loadModule('checks/hygiene/run') as { runHygiene: typeof RunHygiene };
const { scanRepository } = loadModule('checks/hygiene/scan') as { scanRepository: typeof ScanRepository };
const { parseHygieneOptions } = loadModule('checks/hygiene/options') as { parseHygieneOptions: typeof ParseHygieneOptions };

/** The planted problems: every run must report exactly these (rule, file), no more, no fewer. */
const EXPECTED = [
  'image/committed assets/backup.tar',
  'secret/nix-plaintext infra/hosts/a.nix',
  'secret/nix-plaintext infra/hosts/b.nix',
  'secret/private-key src/leak/id_rsa',
  'secret/token src/leak/aws.env',
  'secret/token src/leak/config.env',
  'secret/token src/leak/db.env',
  'size/large assets/dataset.bin',
  'size/large assets/video.bin',
];

const RUNS = Number(process.argv[2] ?? 5);
const FILES = Number(process.argv[3] ?? 100_000);
/** secretlint takes many minutes on this tree: its runs are few, and a run stopped at the time limit counts as a lower bound. */
const SECRETLINT_RUNS = Number(process.argv[4] ?? 1);
const SECRETLINT_LIMIT_MS = Number(process.argv[5] ?? 30 * 60_000);
const REPO = join(__dirname, '../..');
const MiB = 1024 * 1024;

let seed = 2026;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const word = () => ['config', 'service', 'port', 'user', 'group', 'path', 'enable', 'package', 'value', 'option', 'build', 'image'][Math.floor(random() * 12)];

function source(i: number): string {
  const lines = [`// module ${i}`, `import { ${word()} } from './${word()}-${i % 97}';`];
  for (let l = 0; l < 30 + (i % 40); l++) lines.push(`export const ${word()}${l} = ${JSON.stringify(`${word()}-${word()}-${i}-${l}`)};`);
  return lines.join('\n') + '\n';
}
function nix(i: number): string {
  const lines = ['{ config, lib, pkgs, ... }:', '{'];
  for (let l = 0; l < 20 + (i % 30); l++) lines.push(`  services.${word()}${i % 13}.${word()}${l} = ${l % 3 ? `"${word()}-${l}"` : 'true'};`);
  lines.push(`  services.${word()}.passwordFile = "/run/secrets/${word()}/${i}";`, '}');
  return lines.join('\n') + '\n';
}
function doc(i: number): string {
  const lines = [`# Page ${i}`, ''];
  for (let l = 0; l < 25 + (i % 30); l++) lines.push(`The ${word()} of the ${word()} sets the ${word()} (see [${word()}](../${word()}/${l}.md)).`);
  return lines.join('\n') + '\n';
}

function generate(root: string): { textFiles: string[] } {
  const write = (path: string, content: string | Buffer) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  const textFiles: string[] = [];
  const planted = 6;
  const binaries = 3;
  for (let i = 0; i < FILES - planted - binaries; i++) {
    const dir = `pkg${i % 50}/sub${Math.floor(i / 50) % 40}`;
    const kind = i % 10;
    const path = kind < 6 ? `src/${dir}/file${i}.ts` : kind < 8 ? `infra/${dir}/module${i}.nix` : `docs/${dir}/page${i}.md`;
    write(path, kind < 6 ? source(i) : kind < 8 ? nix(i) : doc(i));
    textFiles.push(path);
  }
  // A few large binaries: one above the warning threshold, one above the error threshold, one disguised image.
  write('assets/video.bin', Buffer.alloc(60 * MiB, 1));
  write('assets/dataset.bin', Buffer.alloc(110 * MiB, 2));
  write('assets/backup.tar', Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), Buffer.alloc(4 * MiB)]));
  // Split literals: this file is itself checked by hygiene and must not hold a token-shaped string.
  const problems: Record<string, string> = {
    'infra/hosts/a.nix': '{ users.users.root.initialPassword = "changeme"; }\n',
    'infra/hosts/b.nix': '{ services.grafana.settings.security.admin_password = "Zk8-rT2q-Lw9x"; }\n',
    'src/leak/config.env': 'GITHUB_TOKEN=gh' + 'p_KwVJ7faC9qEwjky40UVsWmflzdE1F8ResqED\n',
    'src/leak/aws.env': 'AWS_ACCESS_KEY_ID=AK' + 'IAQ3EGRT7LKWP5MZ2X\n',
    'src/leak/db.env': 'DATABASE_URL=postgres://gitlab:' + 'Xk9Rt2Lw7Qz@db.internal:5432/gitlab\n',
    'src/leak/id_rsa': '-----BEGIN RSA ' + 'PRIVATE KEY-----\nMIIEowIBAAKCAQEAu7Gx0Qz2pWf4tKc9LmN3vR8sYdJ6hE1oT5aXbZ2yUq0wCiVgF7\n-----END RSA PRIVATE KEY-----\n',
  };
  for (const [path, content] of Object.entries(problems)) {
    write(path, content);
    textFiles.push(path);
  }
  write('.secretlintrc.json', JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));
  return { textFiles };
}

function git(root: string, args: string[]) {
  execFileSync('git', ['-C', root, ...args], {
    stdio: 'ignore',
    env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b.invalid' },
  });
}

function main() {
  const root = mkdtempSync(join(tmpdir(), 'hygiene-bench-'));
  try {
    const started = Date.now();
    const { textFiles } = generate(root);
    git(root, ['init', '-q']);
    git(root, ['add', '-A']);
    git(root, ['commit', '-qm', 'tree']);
    console.error(`generated and committed ${FILES} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The freshly written tree goes to disk first, so writeback does not land in the first measurements.
    execFileSync('sync');
    const options = parseHygieneOptions({ format: 'json' });
    const cpuMs = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    let texts: string[] = [];
    let findings: { rule: string; file: string }[] = [];
    let threaded: ReturnType<typeof scanRepository> | undefined;
    let single: ReturnType<typeof scanRepository> | undefined;
    const baseline: number[] = [];
    const hygiene: number[] = [];
    const hygieneCpu: number[] = [];
    const oneThread: number[] = [];
    const cli: number[] = [];
    const load = loadavg();
    // One untimed round to warm the page cache, then RUNS rounds; each round measures every variant in
    // turn, so drifting load on this shared machine weighs on all of them alike.
    for (let i = -1; i < RUNS; i++) {
      const record = (list: number[], ms: number) => i >= 0 && list.push(ms);
      record(
        baseline,
        timeMs(() => {
          const listed = execFileSync('git', ['-C', root, 'ls-files', '-z'], { encoding: 'utf8', maxBuffer: 512 * MiB }).split('\0').filter(Boolean);
          if (listed.length < FILES) throw new Error(`git ls-files listed ${listed.length} files`);
          texts = textFiles.map((f) => readFileSync(join(root, f), 'utf8'));
        }),
      );
      const cpu = cpuMs();
      record(hygiene, timeMs(() => (findings = runHygiene(root, { format: 'json' }).findings)));
      record(hygieneCpu, cpuMs() - cpu);
      if (i < 0) threaded = scanRepository(root, options);
      record(oneThread, timeMs(() => (single = scanRepository(root, options, { minFilesPerThread: Number.POSITIVE_INFINITY }))));
      if (!isDeepStrictEqual(single, threaded)) throw new Error('hygiene on one thread and on every core disagree');
      record(
        cli,
        timeMs(() => {
          const r = spawnSync(process.execPath, [join(REPO, 'packages/nx-nixos/bin/nx-nixos.js'), 'hygiene', root, '--format', 'json'], { encoding: 'utf8', maxBuffer: 512 * MiB });
          if (r.status !== 1) throw new Error(`hygiene CLI exited ${r.status}: ${r.stderr}`);
        }),
      );
    }
    const got = findings.map((f) => `${f.rule} ${f.file}`).sort();
    if (!isDeepStrictEqual(got, EXPECTED)) throw new Error(`hygiene reported\n${got.join('\n')}\ninstead of\n${EXPECTED.join('\n')}`);
    const byRule: Record<string, number> = {};
    for (const f of findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;

    let secretFindings = 0;
    const secretRules: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      secretRules.push(
        timeMs(() => {
          secretFindings = 0;
          textFiles.forEach((file, j) => {
            const text = texts[j];
            secretFindings += checkTokens(file, text).length + checkPrivateKeys(file, text).length;
            if (file.endsWith('.nix')) secretFindings += checkNixPlaintext(file, text).length;
          });
        }),
      );
    }

    let secretlintFiles = 0;
    let secretlintFindings = 0;
    let secretlintStopped = false;
    const secretlint: number[] = [];
    for (let i = 0; i < SECRETLINT_RUNS; i++) {
      secretlint.push(
        timeMs(() => {
          // compact: one line per finding ("FILE: line L, col C, Error - ..."); json would carry every file's content.
          const r = spawnSync(join(REPO, 'node_modules/.bin/secretlint'), ['**/*', '--format', 'compact', '--maskSecrets'], { cwd: root, encoding: 'utf8', maxBuffer: 1024 * MiB, timeout: SECRETLINT_LIMIT_MS });
          if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
            secretlintStopped = true;
            return;
          }
          if (r.status !== 1) throw new Error(`secretlint exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
          const lines = r.stdout.split('\n').filter((l) => /: line \d+, col \d+, /.test(l));
          secretlintFindings = lines.length;
          secretlintFiles = new Set(lines.map((l) => l.slice(0, l.indexOf(': line ')))).size;
        }),
      );
    }

    const m = { hygiene: median(hygiene), hygieneCpu: median(hygieneCpu), hygieneOneThread: median(oneThread), baseline: median(baseline), cli: median(cli), secretRules: median(secretRules), secretlint: median(secretlint) };
    writeResults('hygiene', {
      tree: { trackedFiles: FILES, textFiles: textFiles.length, largeBinaries: 3, textMiB: Number((texts.reduce((n, t) => n + t.length, 0) / MiB).toFixed(1)) },
      runs: RUNS,
      code: Object.keys(require.cache).some((k) => k.endsWith(join('nx-nixos', 'dist', 'checks', 'hygiene', 'run.js'))) ? 'dist (compiled)' : 'src (TypeScript through swc)',
      // Other work on this shared machine: 1-minute load average before the hygiene runs and at the end.
      loadAverage: { before: Number(load[0].toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
      findings: { total: findings.length, byRule, identicalOnOneThread: true },
      medianMs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toFixed(1))])),
      targets: { hygieneMaxMs: 3000, maxRatioToBaseline: 10 },
      ratios: {
        hygieneToBaseline: Number((m.hygiene / m.baseline).toFixed(2)),
        oneThreadToHygiene: Number((m.hygieneOneThread / m.hygiene).toFixed(2)),
        // With a stopped run these are lower bounds.
        secretlintToHygiene: Number((m.secretlint / m.hygiene).toFixed(1)),
        secretlintToSecretRules: Number((m.secretlint / m.secretRules).toFixed(1)),
      },
      secretRules: { findings: secretFindings },
      secretlint: { stoppedAtLimitMs: secretlintStopped ? SECRETLINT_LIMIT_MS : undefined, version: (JSON.parse(readFileSync(join(REPO, 'node_modules/secretlint/package.json'), 'utf8')) as { version: string }).version, preset: '@secretlint/secretlint-rule-preset-recommend', runs: SECRETLINT_RUNS, filesWithFindings: secretlintFiles, findings: secretlintFindings },
      withinTargets: m.hygiene <= 3000 && m.hygiene / m.baseline <= 10,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
