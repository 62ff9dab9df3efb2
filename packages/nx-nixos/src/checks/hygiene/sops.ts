import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { maskSecret, type Finding } from '../../report/finding';
import { HYGIENE_RULE_TABLE } from './rules';

const ENC = /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:(str|int|float|bool|bytes|comment)\]$/;

export interface CreationRule {
  path_regex?: string;
}

/**
 * The files of `candidates` that a .sops.yaml's creation_rules match (sops tests path_regex against the path).
 * Throws with the rule index when .sops.yaml or a regex is malformed.
 */
export function sopsRuleMatches(sopsYaml: string, candidates: readonly string[], where = '.sops.yaml'): string[] {
  let config: unknown;
  try {
    config = parseDocument(sopsYaml).toJS();
  } catch (e) {
    throw new Error(`${where}: not valid YAML: ${(e as Error).message}`);
  }
  const rules = (config as { creation_rules?: unknown } | null)?.creation_rules;
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new Error(`${where}: creation_rules must be a list of rules with path_regex.`);
  const regexes = rules.flatMap((rule: CreationRule, i) => {
    if (typeof rule?.path_regex !== 'string') return [];
    try {
      return [new RegExp(rule.path_regex)];
    } catch (e) {
      throw new Error(`${where}: creation_rules[${i}].path_regex: ${(e as Error).message}`);
    }
  });
  return candidates.filter((file) => file !== '.sops.yaml' && regexes.some((re) => re.test(file)));
}

interface SopsMetadata {
  unencrypted_suffix?: string;
  encrypted_suffix?: string;
  unencrypted_regex?: string;
  encrypted_regex?: string;
}

/** Whether sops encrypts the value at this key path, following the file's suffix/regex settings. */
function mustBeEncrypted(keys: readonly string[], meta: SopsMetadata): boolean {
  const anyKey = (test: (key: string) => boolean) => keys.some(test);
  if (meta.encrypted_suffix) return anyKey((k) => k.endsWith(meta.encrypted_suffix!));
  if (meta.encrypted_regex) return anyKey((k) => new RegExp(meta.encrypted_regex!).test(k));
  if (meta.unencrypted_regex) return !anyKey((k) => new RegExp(meta.unencrypted_regex!).test(k));
  const suffix = meta.unencrypted_suffix ?? '_unencrypted';
  return !anyKey((k) => k.endsWith(suffix));
}

/** secret/sops-plaintext and secret/sops-metadata for one SOPS file (YAML or JSON). */
export function checkSopsFile(file: string, text: string): Finding[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  if (doc.errors.length) {
    const error = doc.errors[0];
    return [
      {
        rule: 'secret/sops-metadata',
        severity: HYGIENE_RULE_TABLE['secret/sops-metadata'].severity,
        file,
        line: error.linePos?.[0].line,
        message: `Cannot parse this SOPS file: ${error.message.split('\n')[0]}`,
        fix: 'Restore it from Git or re-create it with sops.',
        subject: 'unparsable',
      },
    ];
  }
  const findings: Finding[] = [];
  const root = doc.contents;
  const metadataNode = isMap(root) ? root.get('sops', true) : undefined;
  const metadata = (isMap(metadataNode) ? metadataNode.toJSON() : undefined) as (SopsMetadata & { mac?: unknown }) | undefined;
  if (!metadata || typeof metadata.mac !== 'string') {
    findings.push({
      rule: 'secret/sops-metadata',
      severity: HYGIENE_RULE_TABLE['secret/sops-metadata'].severity,
      file,
      line: 1,
      message: metadata ? 'The sops metadata has no MAC: the file was edited by hand or the metadata is damaged.' : 'No sops metadata: this file was never encrypted with sops.',
      fix: `sops --encrypt --in-place ${file} (with the recipients of .sops.yaml), and rotate every value that was committed in clear.`,
      subject: metadata ? 'no mac' : 'no metadata',
    });
  }
  const visit = (node: Node | null | undefined, keys: string[]) => {
    if (!node) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (keys.length === 0 && key === 'sops') continue;
        visit(pair.value as Node, [...keys, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item as Node, [...keys, String(i)]));
    } else if (isScalar(node)) {
      if (node.value === null || !mustBeEncrypted(keys, metadata ?? {})) return;
      const value = String(node.value);
      if (ENC.test(value)) return;
      const where = node.range ? lineCounter.linePos(node.range[0]) : undefined;
      const masked = maskSecret(value);
      findings.push({
        rule: 'secret/sops-plaintext',
        severity: HYGIENE_RULE_TABLE['secret/sops-plaintext'].severity,
        file,
        line: where?.line,
        column: where?.col,
        message: `${keys.join('.')} is in plaintext ("${masked}"), not an ENC[...] value.`,
        fix: `Edit the file with \`sops ${file}\` (it encrypts on save), and rotate the value: it is in Git history.`,
        subject: `${keys.join('.')}: ${masked}`,
      });
    }
  };
  visit(root as Node, []);
  return findings;
}
