import { applyAllowlist } from './allowlist';
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
