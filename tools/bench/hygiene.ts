/**
 * hygiene on a generated repository of 100,000 tracked files (sources, Nix modules, docs, a few large
 * binaries, a handful of planted problems):
 * - whole-repo hygiene in process (git ls-files, read, every rule, json report), median of RUNS;
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
import { checkNixPlaintext } from '../../packages/nx-nixos/src/checks/hygiene/nix';
import { runHygiene } from '../../packages/nx-nixos/src/checks/hygiene/run';
import { checkPrivateKeys, checkTokens } from '../../packages/nx-nixos/src/checks/hygiene/tokens';
import { median, timeMs, writeResults } from './lib';

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

    let texts: string[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      baseline.push(
        timeMs(() => {
          const listed = execFileSync('git', ['-C', root, 'ls-files', '-z'], { encoding: 'utf8', maxBuffer: 512 * MiB }).split('\0').filter(Boolean);
          if (listed.length < FILES) throw new Error(`git ls-files listed ${listed.length} files`);
          texts = textFiles.map((f) => readFileSync(join(root, f), 'utf8'));
        }),
      );
    }

    let findings: { rule: string }[] = [];
    const hygiene: number[] = [];
    for (let i = 0; i < RUNS; i++) hygiene.push(timeMs(() => (findings = runHygiene(root, { format: 'json' }).findings)));
    const byRule: Record<string, number> = {};
    for (const f of findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;

    const cli: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      cli.push(
        timeMs(() => {
          const r = spawnSync(process.execPath, [join(REPO, 'packages/nx-nixos/bin/nx-nixos.js'), 'hygiene', root, '--format', 'json'], { encoding: 'utf8', maxBuffer: 512 * MiB });
          if (r.status !== 1) throw new Error(`hygiene CLI exited ${r.status}: ${r.stderr}`);
        }),
      );
    }

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

    const m = { hygiene: median(hygiene), baseline: median(baseline), cli: median(cli), secretRules: median(secretRules), secretlint: median(secretlint) };
    writeResults('hygiene', {
      tree: { trackedFiles: FILES, textFiles: textFiles.length, largeBinaries: 3, textMiB: Number((texts.reduce((n, t) => n + t.length, 0) / MiB).toFixed(1)) },
      runs: RUNS,
      findings: { total: findings.length, byRule },
      medianMs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toFixed(1))])),
      targets: { hygieneMaxMs: 3000, maxRatioToBaseline: 10 },
      ratios: {
        hygieneToBaseline: Number((m.hygiene / m.baseline).toFixed(2)),
        // With a stopped run these are lower bounds.
        secretlintToHygiene: Number((m.secretlint / m.hygiene).toFixed(1)),
        secretlintToSecretRules: Number((m.secretlint / m.secretRules).toFixed(1)),
      },
      secretRules: { findings: secretFindings },
      secretlint: { stoppedAtLimitMs: secretlintStopped ? SECRETLINT_LIMIT_MS : undefined, version: JSON.parse(readFileSync(join(REPO, 'node_modules/secretlint/package.json'), 'utf8')).version, preset: '@secretlint/secretlint-rule-preset-recommend', runs: SECRETLINT_RUNS, filesWithFindings: secretlintFiles, findings: secretlintFindings },
      withinTargets: m.hygiene <= 3000 && m.hygiene / m.baseline <= 10,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main();
