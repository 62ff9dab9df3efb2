import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIfTools } from '../../testing/tools';
import { runAllWithinBudget } from '../../testing/within-budget';

/**
 * Fuzz-style complexity tests: every scanner gets generated adversarial inputs of about 1 MB and must
 * finish within a fixed budget far above its normal time, so a quadratic or exponential path fails
 * here (each case runs in a worker that is stopped at the budget) instead of hanging CI.
 */
const MB = 1 << 20;
const BUDGET_MS = 20_000;
jest.setTimeout(10 * 60_000);

interface Outcome {
  ms: number;
  /** How many results the call gave (findings, lines, characters). */
  count: number;
  /** The error the function threw, "Class: message". */
  thrown?: string;
}

const resultCount = (result: unknown): number =>
  Array.isArray(result) ? result.length : Array.isArray((result as { findings?: unknown })?.findings) ? (result as { findings: unknown[] }).findings.length : typeof result === 'string' ? result.length : 1;

/**
 * Runs `exported(...args)` of a module of this folder once per argument list, in one worker, each call within
 * BUDGET_MS (src/testing/within-budget.ts); rejects naming the call that ran over or killed the worker. A
 * thrown error is an outcome: a clean refusal (a tool error that names the file) is an answer too.
 */
async function boundedAll(module: string, exported: string, argLists: unknown[][]): Promise<Outcome[]> {
  const results = await runAllWithinBudget(join(__dirname, module), exported, argLists, BUDGET_MS);
  return results.map((r, i) => {
    if (r.timedOut) throw new Error(`${exported} (call ${i}) did not finish within ${BUDGET_MS} ms`);
    if (r.ms === undefined) throw new Error(`${exported} (call ${i}): ${r.error}`);
    return { ms: r.ms, count: r.error ? 0 : resultCount(r.value), thrown: r.error?.split('\n')[0] };
  });
}

const bounded = async (module: string, exported: string, args: unknown[]): Promise<Outcome> => (await boundedAll(module, exported, [args]))[0];

/** Repeats `unit` to about `bytes` characters. */
const fill = (unit: string, bytes = MB) => unit.repeat(Math.ceil(bytes / unit.length));
/** Deterministic pseudo-random text over an alphabet (a fixed seed: failures reproduce). */
function random(alphabet: string, bytes = MB, seed = 42): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out.push(alphabet[x % alphabet.length]);
  }
  return out.join('');
}

/** Every input through every case: finished within the budget, and any error thrown is a refusal that `refusal` accepts. */
async function expectAllWithinBudget(module: string, exported: string, cases: Record<string, (input: string) => unknown[]>, inputs: Record<string, string>, refusal?: RegExp) {
  const names: string[] = [];
  const argLists: unknown[][] = [];
  for (const [inputName, input] of Object.entries(inputs)) {
    for (const [caseName, args] of Object.entries(cases)) {
      names.push(`${inputName} / ${caseName}`);
      argLists.push(args(input));
    }
  }
  const outcomes = await boundedAll(module, exported, argLists);
  const unexpected = outcomes.flatMap((o, i) => (o.thrown && !refusal?.test(o.thrown) ? [`${names[i]}: ${o.thrown}`] : []));
  expect(unexpected).toEqual([]);
}

const TOKEN_INPUTS: Record<string, string> = {
  'URL hint: ://:::': '://' + fill(':'),
  'URL userinfo': fill('a://b:'),
  'URL without host': fill('x://u:p@'),
  'OpenAI prefix runs': fill('sk-'),
  'OpenAI near miss': fill('sk-' + 'a'.repeat(30) + 'T3Blbk '),
  'GitLab prefix runs': fill('glpat-'),
  'Slack webhook without key': 'https://hooks.slack.com/services/T' + fill('A'),
  'AWS secret key then blanks': 'aws_secret_access_key=' + fill(' '),
  'AWS secret keys': fill('aws_secret_access_key '),
  'private key headers': fill('-----BEGIN RSA PRIVATE KEY-----'),
  'private key bodies': fill('-----BEGIN OPENSSH PRIVATE KEY-----\n' + 'A'.repeat(39) + '\n'),
  'Google keys': fill('AIza-'),
  'random token alphabet': random('ghp_sk-glpatAIzaxox:/@.0123456789ABCDEFabcdef ', MB),
  'one long line of word characters': fill('a'),
};

const NIX_INPUTS: Record<string, string> = {
  'unterminated block comments': 'password = "x";\n' + fill('/*x'),
  'attribute path, spaced dots': 'password ' + fill('a .'),
  'attribute paths without =': fill('a.b.c '),
  'quotes': 'password = ' + fill('"'),
  'indented-string quotes': 'password = ' + fill("''"),
  'interpolations': 'password = "' + fill('${'),
  'closing braces': 'password = ' + fill('}'),
  'backslashes in a string': 'password = "' + fill('\\'),
  'bindings without values': fill('password = '),
  'many bindings': fill('x.password = "p4ss-w0rd-value";\n'),
  'comment lines': 'password = "x";\n' + fill('# comment\n'),
  'long secret-like name': fill('a') + 'Password = "x";',
  'random Nix alphabet': 'secret ' + random('abcp.=?"\'${}()#/* \n\\', MB),
};

const YAML_INPUTS: Record<string, string> = {
  'deep flow nesting': fill('['),
  'deep flow nesting, closed': fill('[', MB / 2) + fill(']', MB / 2),
  'deep block sequences': fill('- '),
  'deep block mappings': Array.from({ length: 1400 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
  'quotes': fill('"'),
  'flow commas': '[' + fill(',') + ']',
  'tabs as indentation': fill('a:\n\t'),
  'many keys': Array.from({ length: MB / 12 }, (_, i) => `key${i}: value`).join('\n'),
  'long key': '"' + fill('k') + '": v',
  'aliases': Array.from({ length: 30000 }, (_, i) => `a${i}: &x${i} [*x${Math.max(0, i - 1)}, *x${Math.max(0, i - 1)}]`).join('\n'),
  'random YAML alphabet': random('ab:-"\'[]{},#&*!|>\n ', MB),
};

describe('11: every hygiene scanner is linear on ~1 MB of adversarial input', () => {
  it('11: secret/token and secret/private-key finish within the budget on adversarial text', async () => {
    await expectAllWithinBudget('tokens.ts', 'checkTokens', { tokens: (t) => ['a.txt', t] }, TOKEN_INPUTS);
    await expectAllWithinBudget('tokens.ts', 'checkPrivateKeys', { keys: (t) => ['a.txt', t] }, TOKEN_INPUTS);
  });

  it('11: secret/nix-plaintext finishes within the budget on adversarial Nix (comments, strings, attribute paths)', async () => {
    await expectAllWithinBudget('nix.ts', 'checkNixPlaintext', { nix: (t) => ['a.nix', t] }, NIX_INPUTS);
  });

  it('11: stale/legacy-reference finishes within the budget, also with a finding every few bytes on one line', async () => {
    const inputs = { 'old/ on one line': fill('old/ '), 'old/ lines': fill('old/\n'), '../ runs': fill('../'), 'dotted runs': fill('./.././'), ...TOKEN_INPUTS };
    await expectAllWithinBudget('stale.ts', 'checkLegacyReferences', { legacy: (t) => ['a.md', t, ['old', 'legacy/archive']] }, inputs);
  });

  it('11: SOPS files finish within the budget on adversarial YAML (deep nesting, error storms, long keys), and never crash', async () => {
    await expectAllWithinBudget('sops.ts', 'checkSopsFile', { sops: (t) => ['secrets.yaml', t] }, YAML_INPUTS);
    await expectAllWithinBudget('sops.ts', 'sopsRuleMatches', { '.sops.yaml': (t) => [t, ['a']] }, YAML_INPUTS, /^Error: \.sops\.yaml: (not valid YAML at line \d+, column \d+: .+|creation_rules must be a list of rules with path_regex)\. /);
  });

  it("11: a SOPS file's own encrypted_regex runs on a linear engine; a bad one is a finding naming file and field", async () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `    ${'a'.repeat(40)}${i}!: plain-${i}`).join('\n');
    const sops = (regex: string) => `data:\n${keys}\nsops:\n    mac: ENC[AES256_GCM,data:x,iv:eA==,tag:eA==,type:str]\n    encrypted_regex: '${regex}'\n`;
    const catastrophic = await bounded('sops.ts', 'checkSopsFile', ['secrets.yaml', sops('^(a+)+$')]);
    expect(catastrophic.count).toBe(0);
    const { checkSopsFile } = await import('./sops');
    const bad = checkSopsFile('secrets.yaml', sops('([a-z'));
    expect(bad[0]).toMatchObject({ rule: 'secret/sops-metadata', file: 'secrets.yaml', message: expect.stringMatching(/^sops\.encrypted_regex is not a regular expression sops accepts \(RE2\): missing closing \]/) });
    // The file's values are still checked, as if every one had to be encrypted.
    expect(bad.filter((f) => f.rule === 'secret/sops-plaintext')).toHaveLength(2000);
    // .sops.yaml's path_regex runs on the same engine.
    const rules = await bounded('sops.ts', 'sopsRuleMatches', ['creation_rules:\n  - path_regex: ^(a+)+$\n', Array.from({ length: 200 }, (_, i) => `${'a'.repeat(40)}${i}!`)]);
    expect(rules.count).toBe(0);
  });

  it('11: image, size and LFS rules, masking and the JSON error locator finish within the budget', async () => {
    const buffers = { zeros: '\0'.repeat(MB), pointer: fill('version https://git-lfs.github.com/spec/v1\n') };
    await expectAllWithinBudget('files.ts', 'isLfsPointer', { lfs: (t) => [t] }, buffers);
    await expectAllWithinBudget('redact.ts', 'redactSecrets', { redact: (t) => [t] }, { ...TOKEN_INPUTS, ...NIX_INPUTS });
    await expectAllWithinBudget('../../report/json-syntax.ts', 'jsonSyntaxError', { json: (t) => [t] }, { ...YAML_INPUTS, 'deep arrays': fill('['), 'deep objects': fill('{"a":'), strings: fill('"\\') });
  });
});

describeIfTools(['git'])('11: whole runs on crafted repositories', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hygiene-fuzz-'));
    spawnSync('git', ['init', '-q', root]);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('11: --legacy old on a 1 MB file of "old/ " is reported without overflowing the stack', async () => {
    // Just under maxScanKiB (1 MiB), so that it is scanned.
    writeFileSync(join(root, 'old-refs.md'), fill('old/ ', MB - 64));
    const outcome = await bounded('run.ts', 'runHygiene', [root, { legacyFolders: ['old'], format: 'json' }]);
    expect(outcome.count).toBeGreaterThan(200_000);
    rmSync(join(root, 'old-refs.md'));
  });

  it('11: exclude globs from the repository run on a linear engine', async () => {
    writeFileSync(join(root, `${'a'.repeat(200)}.md`), '# x\n');
    mkdirSync(join(root, 'a/'.repeat(60)), { recursive: true });
    writeFileSync(join(root, 'a/'.repeat(60), 'x.md'), '# x\n');
    const exclude = [`${'**/'.repeat(30)}b`, `${'*a'.repeat(30)}b`];
    const outcome = await bounded('run.ts', 'runHygiene', [root, { exclude, legacyFolders: ['old'] }]);
    expect(outcome.count).toBe(0);
  });
});

describe('no spread of a whole array into a call, no recursion over input', () => {
  it('hygiene and report sources use loops, not push(...array) or Math.max(...array)', () => {
    const offenders: string[] = [];
    for (const dir of [__dirname, join(__dirname, '../../report')]) {
      for (const name of readdirSync(dir)) {
        if (!name.endsWith('.ts') || name.endsWith('.spec.ts')) continue;
        const text = readFileSync(join(dir, name), 'utf8');
        if (/\.(push|unshift|splice)\(\s*\.\.\.|Math\.(max|min)\(\s*\.\.\.|String\.fromCharCode\(\s*\.\.\./.test(text)) offenders.push(name);
      }
    }
    expect(offenders).toEqual([]);
  });
});
