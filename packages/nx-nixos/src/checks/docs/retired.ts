import type { RE2JS } from 're2js';
import { compileRegex } from '../hygiene/patterns';

/** One entry of the docs-check option `retiredCommands`, as written in nx.json. */
export interface RetiredCommandOption {
  /** RE2 regular expression matched inside a code line. */
  pattern: string;
  /** The command to use instead; $1 to $9 stand for the pattern's capture groups. */
  replacement: string;
  /** Text for a capture group that did not match. Default: empty. */
  groupDefault?: string;
  /** False when the replacement needs a person (e.g. a value only the reader knows). Default true. */
  autofix?: boolean;
}

/** A retired command, its pattern compiled for RE2 (linear time whatever the pattern). */
export interface RetiredCommand {
  pattern: RE2JS;
  replacement: string;
  groupDefault: string;
  autofix: boolean;
}

const OPTION = 'docsCheck.retiredCommands';
const KEYS = ['pattern', 'replacement', 'groupDefault', 'autofix'];
const FIX = `Write it as [{ "pattern": "<RE2 regex>", "replacement": "<command, $1 for a group>", "groupDefault"?: "<text>", "autofix"?: false }] in the docsCheck options of @rave/nx-nixos in nx.json.`;

const invalid = (option: string, reason: string) => new Error(`nx.json: option "${option}" of plugin @rave/nx-nixos is invalid: ${reason}. ${FIX}`);

/** The option checked and compiled; a wrong value is an error naming nx.json, the option, the reason and the fix. */
export function retiredCommands(value: unknown): RetiredCommand[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(OPTION, `expected a list, got ${JSON.stringify(value)?.slice(0, 80)}`);
  return value.map((entry: unknown, i) => {
    const at = `${OPTION}[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw invalid(at, 'expected an object');
    const unknown = Object.keys(entry).find((key) => !KEYS.includes(key));
    if (unknown !== undefined) throw invalid(at, `unknown key "${unknown}" (known: ${KEYS.join(', ')})`);
    const { pattern, replacement, groupDefault = '', autofix = true } = entry as Record<string, unknown>;
    if (typeof pattern !== 'string' || pattern === '') throw invalid(`${at}.pattern`, 'expected a non-empty RE2 regular expression');
    if (typeof replacement !== 'string' || replacement === '') throw invalid(`${at}.replacement`, 'expected the command to use instead');
    if (typeof groupDefault !== 'string') throw invalid(`${at}.groupDefault`, 'expected a text');
    if (typeof autofix !== 'boolean') throw invalid(`${at}.autofix`, 'expected true or false');
    let compiled: RE2JS;
    try {
      compiled = compileRegex(pattern);
    } catch (e) {
      throw invalid(`${at}.pattern`, `not an RE2 regular expression (${(e as Error).message})`);
    }
    return { pattern: compiled, replacement, groupDefault, autofix };
  });
}

/** The first match of a retired command in a line, and its replacement. */
export function matchRetired(entry: RetiredCommand, text: string): { match: string; replacement: string } | undefined {
  const matcher = entry.pattern.matcher(text);
  if (!matcher.find()) return undefined;
  const groups = entry.pattern.groupCount();
  const replacement = entry.replacement.replace(/\$([1-9])/g, (_, n: string) => (Number(n) <= groups ? matcher.group(Number(n)) ?? entry.groupDefault : entry.groupDefault));
  return { match: matcher.group(0) ?? '', replacement };
}
