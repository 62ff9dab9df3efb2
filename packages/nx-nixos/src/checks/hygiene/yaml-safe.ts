import { parseDocument, type Document, type YAMLError } from 'yaml';
import { positions } from './text';

/**
 * YAML from the repository (.sops.yaml, SOPS files) parsed within bounds. The yaml library recurses
 * once per nesting level (thousands of levels exhaust the stack, slowly) and builds an Error with a
 * stack trace for every problem it meets (a megabyte of `""""` yields half a million). So: nesting
 * is measured first in one pass and refused above MAX_YAML_DEPTH (sops files are a few levels deep),
 * and errors are built without stack traces. Error messages never quote the text.
 */
export const MAX_YAML_DEPTH = 64;

/** The first line on which the text nests deeper than `max` (block indentation, `- ` runs and flow brackets). */
export function yamlDepthExceeded(text: string, max = MAX_YAML_DEPTH): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let line = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    let i = start;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    const first = text.charCodeAt(i);
    if (i < end && first !== 0x23 /* # */ && first !== 0x0d) {
      if (flow === 0) {
        while (indents.length && indents[indents.length - 1] >= i - start) indents.pop();
        indents.push(i - start);
      }
      let compact = 0;
      for (let j = i; j + 1 < end; j += 2) {
        const c = text.charCodeAt(j);
        if ((c !== 0x2d && c !== 0x3f && c !== 0x3a) || text.charCodeAt(j + 1) !== 0x20) break;
        compact++;
        while (j + 2 < end && text.charCodeAt(j + 2) === 0x20) j++;
      }
      for (let j = i; j < end; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5b || c === 0x7b) flow++;
        else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--;
        else if (c === 0x23 && (j === i || text.charCodeAt(j - 1) === 0x20)) break;
        if (indents.length + compact + flow > max) return line;
      }
      if (indents.length + compact + flow > max) return line;
    }
    start = end + 1;
  }
  return undefined;
}

/** What yaml says for codes whose messages hold no text of the file; the others get a fixed description. */
const SAFE_MESSAGE_CODES = new Set(['MISSING_CHAR', 'BAD_INDENT', 'TAB_AS_INDENT', 'MULTILINE_IMPLICIT_KEY', 'KEY_OVER_1024_CHARS', 'DUPLICATE_KEY', 'MULTIPLE_DOCS', 'BLOCK_AS_IMPLICIT_KEY', 'BLOCK_IN_FLOW', 'MULTIPLE_ANCHORS', 'MULTIPLE_TAGS', 'ALIAS_PROPS', 'NON_STRING_KEY']);
const DESCRIPTIONS: Record<string, string> = {
  BAD_ALIAS: 'an alias is malformed',
  BAD_DIRECTIVE: 'a directive is malformed',
  BAD_DQ_ESCAPE: 'a double-quoted string has an invalid escape sequence',
  BAD_PROP_ORDER: 'an anchor or tag is in the wrong place',
  BAD_SCALAR_START: 'a plain value starts with a reserved character',
  BAD_COLLECTION_TYPE: 'a tag does not fit its collection',
  TAG_RESOLVE_FAILED: 'a tag is unknown',
  UNEXPECTED_TOKEN: 'unexpected content',
  RESOURCE_EXHAUSTION: 'nested too deeply or too large to read',
  IMPOSSIBLE: 'the YAML parser failed',
};

export interface YamlProblem {
  line: number;
  column: number;
  reason: string;
}

function describe(error: YAMLError, at: (offset: number) => { line: number; column: number }): YamlProblem {
  const reason = SAFE_MESSAGE_CODES.has(error.code) ? error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') : (DESCRIPTIONS[error.code] ?? 'invalid YAML');
  return { ...at(error.pos[0]), reason };
}

export type ParsedYaml = { doc: Document.Parsed; at: (offset: number) => { line: number; column: number } } | { problem: YamlProblem };

/** Parses one YAML document, or says (line, column, reason) why it cannot be read. */
export function parseYamlSafely(text: string): ParsedYaml {
  const at = positions(text);
  const deep = yamlDepthExceeded(text);
  if (deep !== undefined) return { problem: { line: deep, column: 1, reason: `nested deeper than ${MAX_YAML_DEPTH} levels` } };
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  } catch {
    return { problem: { line: 1, column: 1, reason: DESCRIPTIONS.IMPOSSIBLE } };
  } finally {
    Error.stackTraceLimit = limit;
  }
  if (doc.errors.length) return { problem: describe(doc.errors[0], at) };
  return { doc, at };
}
