import { isAlias, isMap, isScalar, isSeq, type Node } from 'yaml';
import { maskSecret, type Finding } from '../../report/finding';
import { compileRegex, type LinearPattern } from './patterns';
import { HYGIENE_RULE_TABLE, hygieneFinding } from './rules';
import { parseYamlSafely } from './yaml-safe';

const ENC = /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:(str|int|float|bool|bytes|comment)\]$/;
/** Longest key shown in a key path; the rest is elided. */
const MAX_KEY = 120;
const clip = (s: string) => (s.length > MAX_KEY ? `${s.slice(0, MAX_KEY)}…` : s);

export interface CreationRule {
  path_regex?: string;
}

/**
 * The files of `candidates` that a .sops.yaml's creation_rules match (sops tests path_regex against the
 * path, with Go's RE2 syntax). Throws, naming the file, the line and the reason (never its text), when
 * .sops.yaml is not valid YAML; and with the rule index when a path_regex is not valid RE2.
 */
export function sopsRuleMatches(sopsYaml: string, candidates: readonly string[], where = '.sops.yaml'): string[] {
  const parsed = parseYamlSafely(sopsYaml);
  if ('problem' in parsed) {
    const { line, column, reason } = parsed.problem;
    throw new Error(`${where}: not valid YAML at line ${line}, column ${column}: ${reason}. Fix it: sops cannot use it either.`);
  }
  const root = parsed.doc.contents;
  const rules = isMap(root) ? root.get('creation_rules', true) : undefined;
  if (rules === undefined || (isScalar(rules) && rules.value === null)) return [];
  if (!isSeq(rules)) throw new Error(`${where}: creation_rules must be a list of rules with path_regex.`);
  const regexes: LinearPattern[] = [];
  rules.items.forEach((rule, i) => {
    const source = isMap(rule) ? rule.get('path_regex') : undefined;
    if (typeof source !== 'string') return;
    try {
      regexes.push(compileRegex(source));
    } catch (e) {
      throw new Error(`${where}: creation_rules[${i}].path_regex: not a regular expression sops accepts (RE2): ${(e as Error).message}.`, { cause: e });
    }
  });
  if (regexes.length === 0) return [];
  return candidates.filter((file) => file !== '.sops.yaml' && regexes.some((re) => re.test(file)));
}

const SOPS_FIELDS = ['encrypted_suffix', 'encrypted_regex', 'unencrypted_regex', 'unencrypted_suffix'] as const;

/**
 * Which keys sops encrypts, from the file's own metadata: a key that matches puts its whole subtree in
 * (encrypted_*) or out (unencrypted_*). With no setting, keys ending in `_unencrypted` stay in clear.
 */
interface KeyRule {
  matches(key: string): boolean;
  /** True: a matching key's subtree is encrypted; false: it is left in clear. */
  encrypts: boolean;
}

function keyRule(metadata: Map<string, unknown>): { rule: KeyRule; problem?: { field: string; reason: string } } {
  for (const field of SOPS_FIELDS) {
    const value = metadata.get(field);
    if (typeof value !== 'string' || value === '') continue;
    const encrypts = field.startsWith('encrypted');
    if (field.endsWith('_suffix')) return { rule: { matches: (k) => k.endsWith(value), encrypts } };
    try {
      const re = compileRegex(value);
      return { rule: { matches: (k) => re.test(k), encrypts } };
    } catch (e) {
      // Checked as if every value had to be encrypted: the strictest reading of a file sops cannot use.
      return { rule: { matches: () => true, encrypts: true }, problem: { field, reason: (e as Error).message } };
    }
  }
  return { rule: { matches: (k) => k.endsWith('_unencrypted'), encrypts: false } };
}

/** secret/sops-plaintext and secret/sops-metadata for one SOPS file (YAML or JSON). */
export function checkSopsFile(file: string, text: string): Finding[] {
  const metadataFinding = (line: number | undefined, message: string, subject: string, fix = 'Restore it from Git or re-create it with sops.'): Finding => ({
    rule: 'secret/sops-metadata',
    severity: HYGIENE_RULE_TABLE['secret/sops-metadata'].severity,
    file,
    line,
    message,
    fix,
    subject,
  });
  const parsed = parseYamlSafely(text);
  if ('problem' in parsed) {
    const { line, column, reason } = parsed.problem;
    return [{ ...metadataFinding(line, `Cannot parse this SOPS file: ${reason}.`, 'unparsable'), column }];
  }
  const { doc, at } = parsed;
  const findings: Finding[] = [];
  const root = doc.contents;
  const metadataNode = isMap(root) ? root.get('sops', true) : undefined;
  const metadata = new Map<string, unknown>();
  if (isMap(metadataNode)) {
    for (const pair of metadataNode.items) {
      if (isScalar(pair.key) && isScalar(pair.value)) metadata.set(String(pair.key.value), pair.value.value);
      else if (isScalar(pair.key)) metadata.set(String(pair.key.value), pair.value);
    }
  }
  if (!isMap(metadataNode) || typeof metadata.get('mac') !== 'string') {
    findings.push(
      metadataFinding(
        1,
        isMap(metadataNode) ? 'The sops metadata has no MAC: the file was edited by hand or the metadata is damaged.' : 'No sops metadata: this file was never encrypted with sops.',
        isMap(metadataNode) ? 'no mac' : 'no metadata',
        `sops --encrypt --in-place ${file} (with the recipients of .sops.yaml), and rotate every value that was committed in clear.`,
      ),
    );
  }
  const { rule, problem } = keyRule(metadata);
  if (problem) {
    findings.push(
      metadataFinding(
        metadataNode?.range ? at(metadataNode.range[0]).line : 1,
        `sops.${problem.field} is not a regular expression sops accepts (RE2): ${problem.reason}; every value is checked as if it had to be encrypted.`,
        `invalid ${problem.field}`,
        `Correct sops.${problem.field} (sops reads it with Go's regexp syntax), or re-create the file with sops.`,
      ),
    );
  }

  // Depth-first, iteratively; a frame knows its key path and whether a key on it matched the key rule.
  const stack: Array<{ node: unknown; path: string; matched: boolean }> = [{ node: root, path: '', matched: false }];
  const child = (parent: { path: string; matched: boolean }, key: string, node: unknown) => ({
    node,
    path: parent.path ? `${parent.path}.${clip(key)}` : clip(key),
    matched: parent.matched || rule.matches(key),
  });
  const pending: Array<{ node: unknown; path: string; matched: boolean }> = [];
  while (stack.length) {
    const frame = stack.pop()!;
    const node = frame.node as Node | null | undefined;
    if (!node || isAlias(node)) continue;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (frame.path === '' && node === root && key === 'sops') continue;
        pending.push(child(frame, key, pair.value));
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => pending.push(child(frame, String(i), item)));
    } else if (isScalar(node)) {
      if (node.value === null || frame.matched !== rule.encrypts) continue;
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a YAML scalar holds a string, number, boolean, bigint, Date or binary: never a plain object
      const value = String(node.value);
      if (ENC.test(value)) continue;
      const masked = maskSecret(value);
      findings.push(
        hygieneFinding('secret/sops-plaintext', file, node.range ? at(node.range[0]) : {}, {
          message: `${frame.path} is in plaintext ("${masked}"), not an ENC[...] value.`,
          fix: `Edit the file with \`sops ${file}\` (it encrypts on save), and rotate the value: it is in Git history.`,
          subject: `${frame.path}: ${masked}`,
        }),
      );
    }
    // Children in document order: pushed reversed, taken from the end.
    while (pending.length) stack.push(pending.pop()!);
  }
  return findings;
}
