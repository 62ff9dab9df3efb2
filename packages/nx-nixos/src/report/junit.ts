export interface JUnitCase {
  name: string;
  seconds: number;
  /** Absent when the case passed. */
  failure?: { message: string; details: string };
  /** e.g. "up to date (derivation unchanged)" */
  systemOut?: string;
}

const escapeXml = (text: string) =>
  text
    // eslint-disable-next-line no-control-regex -- removes the control characters XML 1.0 does not allow
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** A JUnit XML report with one suite, as CI systems read it. */
export function junitXml(suite: string, cases: readonly JUnitCase[], timestamp = new Date()): string {
  const failures = cases.filter((c) => c.failure).length;
  const total = cases.reduce((sum, c) => sum + c.seconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" time="${total.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${total.toFixed(3)}" timestamp="${timestamp.toISOString().replace(/\.\d+Z$/, '')}">`,
  ];
  for (const c of cases) {
    lines.push(`    <testcase classname="${escapeXml(suite)}" name="${escapeXml(c.name)}" time="${c.seconds.toFixed(3)}">`);
    if (c.failure) lines.push(`      <failure message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.details)}</failure>`);
    if (c.systemOut) lines.push(`      <system-out>${escapeXml(c.systemOut)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
