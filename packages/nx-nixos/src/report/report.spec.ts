import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyAllowlist } from './allowlist';
import { loadAllowlistFile, parseAllowlist } from './allowlist-file';
import { jsonSyntaxError, parseJsonQuietly } from './json-syntax';
import { contentHash, exitCodeFor, maskSecret, type Finding } from './finding';
import { formatGithubAnnotation, formatReport } from './format';
import { junitXml } from './junit';

const tool = { name: 'nx-nixos test', version: '1.0.0', rules: { 'secret/nix': 'Plaintext secret in a Nix file', 'image/committed': 'Disk image in Git' } };
const findings: Finding[] = [
  { rule: 'secret/nix', severity: 'error', file: 'infra/b.nix', line: 3, column: 5, message: 'initialPassword is a plaintext secret', fix: 'use initialPasswordFile', subject: 'ch*****me' },
  { rule: 'image/committed', severity: 'warning', file: 'a.qcow2', message: 'disk image outside artifacts/' },
  { rule: 'secret/nix', severity: 'note', file: 'infra/b.nix', line: 1, message: 'looks like a token' },
];

describe('formatReport', () => {
  it('groups text by file, sorted by line, with fix hints and a summary', () => {
    expect(formatReport('text', findings, tool)).toBe(
      [
        'a.qcow2',
        '  -        warning disk image outside artifacts/  [image/committed]',
        '',
        'infra/b.nix',
        '  1        note    looks like a token  [secret/nix]',
        '  3:5      error   initialPassword is a plaintext secret  [secret/nix]',
        '                   fix: use initialPasswordFile',
        '',
        '3 finding(s): 1 error(s), 1 warning(s), 1 note(s).',
        '',
      ].join('\n'),
    );
    expect(formatReport('text', [], tool)).toBe('No findings.\n');
  });

  it('writes SARIF 2.1.0 with the rule table, levels, regions and content fingerprints', () => {
    const sarif = JSON.parse(formatReport('sarif', findings, tool));
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(['image/committed', 'secret/nix']);
    const secret = run.results.find((r: { level: string }) => r.level === 'error');
    expect(secret).toMatchObject({
      ruleId: 'secret/nix',
      ruleIndex: 1,
      message: { text: 'initialPassword is a plaintext secret Fix: use initialPasswordFile' },
      locations: [{ physicalLocation: { artifactLocation: { uri: 'infra/b.nix' }, region: { startLine: 3, startColumn: 5 } } }],
      partialFingerprints: { contentHash: contentHash(findings[0]) },
    });
  });

  it('json output carries the hash that allowlist entries use', () => {
    const json = JSON.parse(formatReport('json', findings, tool));
    expect(json.findings[2]).toMatchObject({ rule: 'secret/nix', hash: contentHash(findings[0]) });
  });

  it('escapes GitHub annotation data and properties', () => {
    expect(formatGithubAnnotation({ rule: 'a:b', severity: 'warning', file: 'x,y.md', line: 2, message: '50% done\nnext' })).toBe(
      '::warning file=x%2Cy.md,line=2,title=a%3Ab::50%25 done%0Anext\n',
    );
    expect(formatGithubAnnotation({ rule: 'r', severity: 'note', file: 'f', message: 'm' })).toBe('::notice file=f,title=r::m\n');
  });
});

describe('applyAllowlist', () => {
  it('suppresses by rule + path + content hash, or every finding of rule + path with "*", and reports unused entries', () => {
    const entries = [
      { rule: 'secret/nix', path: 'infra/b.nix', hash: contentHash(findings[0]), reason: 'test fixture' },
      { rule: 'image/committed', path: 'a.qcow2', hash: '*', reason: 'kept on purpose' },
      { rule: 'secret/nix', path: 'gone.nix', hash: '*', reason: 'stale' },
    ];
    const result = applyAllowlist(findings, entries);
    expect(result.suppressed).toEqual([findings[0], findings[1]]);
    expect(result.kept).toEqual([findings[2]]);
    expect(result.unused).toEqual([entries[2]]);
  });

  it('stops matching when the content changes', () => {
    const entry = { rule: 'secret/nix', path: 'infra/b.nix', hash: contentHash(findings[0]), reason: 'x' };
    const changed = { ...findings[0], subject: 'ot*****er', line: 40 };
    expect(applyAllowlist([changed], [entry]).kept).toEqual([changed]);
    expect(applyAllowlist([{ ...findings[0], line: 40 }], [entry]).kept).toEqual([]);
  });
});

describe('finding helpers', () => {
  it('masks secrets, keeping at most a few characters at each end', () => {
    expect(maskSecret('changeme')).toBe('********');
    expect(maskSecret('ghp_abcdefghijklmnopqrstuvwxyz0123456789')).toBe('ghp************789');
    expect(maskSecret('ghp_abcdefghijklmnopqrstuvwxyz0123456789')).not.toContain('abcdef');
  });

  it('fails at or above the fail level', () => {
    expect(exitCodeFor(findings)).toBe(1);
    expect(exitCodeFor(findings.filter((f) => f.severity !== 'error'))).toBe(0);
    expect(exitCodeFor(findings.filter((f) => f.severity === 'note'), 'note')).toBe(1);
  });
});

describe('junitXml', () => {
  it('writes one suite with passing and failing cases, escaping XML', () => {
    const xml = junitXml('dev', [
      { name: 'smoke', seconds: 1.5, systemOut: 'up to date (derivation unchanged)' },
      { name: 'minimal<test>', seconds: 2, failure: { message: 'builder for x failed', details: 'got "500" & \u0001 more' } },
    ], new Date('2026-01-02T03:04:05.678Z'));
    expect(xml).toContain('<testsuite name="dev" tests="2" failures="1" errors="0" skipped="0" time="3.500" timestamp="2026-01-02T03:04:05">');
    expect(xml).toContain('<testcase classname="dev" name="minimal&lt;test&gt;" time="2.000">');
    expect(xml).toContain('<failure message="builder for x failed">got &quot;500&quot; &amp;  more</failure>');
    expect(xml).toContain('<system-out>up to date (derivation unchanged)</system-out>');
  });
});

describe('reading JSON without quoting it', () => {
  it('says where and why a text is not JSON, in its own words', () => {
    for (const text of ['[]', '{"a": [1, -2.5e3, true, null, "x\\u00e9"]}', ' "s" ']) expect([text, jsonSyntaxError(text)]).toEqual([text, undefined]);
    expect(jsonSyntaxError('root:x:0:0:SECRET')).toEqual({ line: 1, column: 1, reason: 'expected a value (a string, number, object, array, true, false or null)' });
    expect(jsonSyntaxError('[\n  {"a": 1,}\n]')).toEqual({ line: 2, column: 11, reason: 'expected a double-quoted property name (no trailing comma)' });
    expect(jsonSyntaxError('{"a" 1}')).toMatchObject({ column: 6, reason: "expected ':' after a property name" });
    expect(jsonSyntaxError('["abc')).toMatchObject({ reason: 'an unterminated string' });
    expect(jsonSyntaxError('[1]x')).toMatchObject({ column: 4, reason: 'unexpected content after the JSON value' });
    expect(() => parseJsonQuietly('{"token": "SECRET-VALUE" oops}', 'a.json')).toThrow('a.json: not valid JSON at line 1, column 26: expected \',\' or \'}\'.');
    expect(() => parseJsonQuietly('SECRET-VALUE', 'a.json')).not.toThrow(/SECRET/);
  });

  it('allowlist files: errors name the file and the place, never the content; FIFOs and devices are not read', () => {
    expect(() => parseAllowlist('[{"rule": "r", "path": "p", "hash": "*", "reason": "TOKEN-123"} x]', 'allow.json')).toThrow(/^allow\.json: not valid JSON at line 1, column \d+: expected ',' or '\]'\.$/);
    expect(() => parseAllowlist('[{"rule": "r"}]', 'allow.json')).toThrow('allow.json: 0.path: Invalid input: expected string, received undefined.');
    const dir = mkdtempSync(join(tmpdir(), 'allowlist-'));
    try {
      writeFileSync(join(dir, 'bad.json'), 'SECRET-IN-FILE');
      expect(() => loadAllowlistFile(join(dir, 'bad.json'))).toThrow(/bad\.json: not valid JSON at line 1, column 1/);
      expect(() => loadAllowlistFile(join(dir, 'bad.json'))).not.toThrow(/SECRET/);
      spawnSync('mkfifo', [join(dir, 'fifo')]);
      expect(() => loadAllowlistFile(join(dir, 'fifo'))).toThrow(/fifo: cannot read the allowlist: is not a regular file/);
      expect(() => loadAllowlistFile('/dev/zero')).toThrow('/dev/zero: cannot read the allowlist: is not a regular file.');
      expect(() => loadAllowlistFile(join(dir, 'none.json'))).toThrow(/none\.json: cannot read the allowlist: no such file \(ENOENT\)\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
