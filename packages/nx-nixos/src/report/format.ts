import { contentHash, sortFindings, type Finding, type Severity } from './finding';

export const REPORT_FORMATS = ['text', 'json', 'sarif', 'github'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ToolInfo {
  /** e.g. "nx-nixos hygiene" */
  name: string;
  version: string;
  informationUri?: string;
  /** Rule id -> one-line description, for SARIF's rule table. */
  rules: Record<string, string>;
}

export function formatReport(format: ReportFormat, findings: readonly Finding[], tool: ToolInfo): string {
  const sorted = sortFindings(findings);
  switch (format) {
    case 'text':
      return formatText(sorted);
    case 'json':
      return JSON.stringify({ tool: tool.name, version: tool.version, findings: sorted.map((f) => ({ ...f, hash: contentHash(f) })) }, null, 2) + '\n';
    case 'sarif':
      return JSON.stringify(toSarif(sorted, tool), null, 2) + '\n';
    case 'github':
      return sorted.map(formatGithubAnnotation).join('');
  }
}

/** Findings grouped by file, each with its fix hint, then a one-line summary. */
export function formatText(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No findings.\n';
  const lines: string[] = [];
  let currentFile: string | undefined;
  for (const f of findings) {
    if (f.file !== currentFile) {
      if (currentFile !== undefined) lines.push('');
      lines.push(f.file);
      currentFile = f.file;
    }
    const where = f.line ? `${f.line}${f.column ? `:${f.column}` : ''}` : '-';
    lines.push(`  ${where.padEnd(8)} ${f.severity.padEnd(7)} ${f.message}  [${f.rule}]`);
    if (f.fix) lines.push(`  ${''.padEnd(8)} ${''.padEnd(7)} fix: ${f.fix}`);
  }
  const count = (s: Severity) => findings.filter((f) => f.severity === s).length;
  lines.push('', `${findings.length} finding(s): ${count('error')} error(s), ${count('warning')} warning(s), ${count('note')} note(s).`);
  return lines.join('\n') + '\n';
}

const SARIF_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', note: 'note' };

export function toSarif(findings: readonly Finding[], tool: ToolInfo): object {
  const ruleIds = Object.keys(tool.rules).sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
            rules: ruleIds.map((id) => ({ id, shortDescription: { text: tool.rules[id] } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ...(ruleIds.includes(f.rule) ? { ruleIndex: ruleIds.indexOf(f.rule) } : {}),
          level: SARIF_LEVEL[f.severity],
          message: { text: f.fix ? `${f.message} Fix: ${f.fix}` : f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: encodeURI(f.file) },
                ...(f.line ? { region: { startLine: f.line, ...(f.column ? { startColumn: f.column } : {}) } } : {}),
              },
            },
          ],
          partialFingerprints: { contentHash: contentHash(f) },
        })),
      },
    ],
  };
}

// GitHub workflow commands: data and properties need their own escaping.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function formatGithubAnnotation(f: Finding): string {
  const command = f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'notice';
  const props = [`file=${escapeProperty(f.file)}`];
  if (f.line) props.push(`line=${f.line}`);
  if (f.column) props.push(`col=${f.column}`);
  props.push(`title=${escapeProperty(f.rule)}`);
  return `::${command} ${props.join(',')}::${escapeData(f.fix ? `${f.message}\nFix: ${f.fix}` : f.message)}\n`;
}
