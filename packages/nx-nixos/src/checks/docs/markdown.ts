// `import x = require()`: these are CommonJS modules, loaded the same with or without esModuleInterop (Nx's loader in user workspaces).
import MarkdownIt = require('markdown-it');
import GithubSlugger = require('github-slugger');

type Token = MarkdownIt.Token;
type StateInline = MarkdownIt.StateInline;

export type LinkKind = 'link' | 'image' | 'definition';

export interface MarkdownLink {
  kind: LinkKind;
  /** Destination after Markdown unescaping and percent-decoding (what a reader's browser follows). */
  target: string;
  /** 1-based line of the link in the file (of the definition for reference-style links). */
  line: number;
  /** 1-based column of the destination on that line, when found verbatim. */
  column?: number;
  /** The destination as written in the source, when found on its line (what --fix replaces). */
  raw?: string;
  /** Link text (alt text for images). */
  text: string;
}

export interface MarkdownCode {
  kind: 'fence' | 'inline';
  /** Info string of a fence ("" for inline code). */
  lang: string;
  content: string;
  /** 1-based line of the first content line. */
  line: number;
  /** For inline code: the whole source line it is on (e.g. the table row). */
  context?: string;
}

export interface Heading {
  level: number;
  text: string;
  slug: string;
  line: number;
}

export interface ParsedMarkdown {
  headings: Heading[];
  /** Every anchor a link can target: heading slugs and explicit HTML ids/names, lowercased. */
  anchors: Set<string>;
  /** Links, images and reference definitions; uses of a reference are reported at its definition. */
  links: MarkdownLink[];
  code: MarkdownCode[];
  /** Prose outside headings, links and code (what a page says by itself), space-joined. */
  prose: string;
  /** Blocks that make a page more than a pointer: fences, tables, html blocks. */
  substantialBlocks: number;
}

const md = new MarkdownIt({ html: true, linkify: false });
// Keep reference definitions as tokens: they carry the line where a reference-style destination is written.
md.core.ruler.disable('strip_references');

// markdown-it keeps no source offsets for inline tokens; record where each link, image and code span
// starts in its inline block so findings get an exact line.
const OFFSET_TOKENS = { link: 'link_open', image: 'image', backticks: 'code_inline' } as const;
for (const [name, type] of Object.entries(OFFSET_TOKENS)) {
  const rule = md.inline.ruler.__rules__.find((r) => r.name === name);
  if (!rule) throw new Error(`markdown-it: inline rule "${name}" not found`);
  const original = rule.fn;
  md.inline.ruler.at(name, (state: StateInline, silent: boolean) => {
    const start = state.pos;
    const before = state.tokens.length;
    const ok = original(state, silent);
    if (ok && !silent) {
      for (let i = before; i < state.tokens.length; i++) {
        const token = state.tokens[i];
        if (token.type === type) {
          (token.meta ??= {}).offset = start;
          break;
        }
      }
    }
    return ok;
  });
}

export interface HtmlAttribute {
  /** Lower-cased tag name. */
  tag: string;
  /** Lower-cased attribute name. */
  name: string;
  value: string;
  /** Offset of the tag's `<`. */
  at: number;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isTagNameChar = (c: number) => isLetter(c) || (c >= 48 && c <= 57) || c === 45;

/**
 * The attributes of the start tags in a piece of HTML, tokenised as a browser reads a tag (a quoted value
 * may hold `>`; a tag or value left open runs to the end). One pass that never goes back: a regular
 * expression that looks for `href` after every `<a` of `<a <a <a ...` is quadratic.
 */
export function htmlAttributes(html: string, wanted: (tag: string, name: string) => boolean): HtmlAttribute[] {
  const out: HtmlAttribute[] = [];
  const n = html.length;
  let i = 0;
  while ((i = html.indexOf('<', i)) !== -1) {
    const at = i++;
    if (i >= n || !isLetter(html.charCodeAt(i))) continue;
    const nameStart = i;
    while (i < n && isTagNameChar(html.charCodeAt(i))) i++;
    const tag = html.slice(nameStart, i).toLowerCase();
    while (i < n) {
      while (i < n && isSpace(html.charCodeAt(i))) i++;
      if (i >= n) break;
      const c = html[i];
      if (c === '>') {
        i++;
        break;
      }
      if (c === '/') {
        i++;
        continue;
      }
      const attrStart = i;
      i++; // the first character belongs to the name even when it is '='
      while (i < n && !isSpace(html.charCodeAt(i)) && html[i] !== '/' && html[i] !== '>' && html[i] !== '=') i++;
      const name = html.slice(attrStart, i).toLowerCase();
      while (i < n && isSpace(html.charCodeAt(i))) i++;
      let value = '';
      if (html[i] === '=') {
        i++;
        while (i < n && isSpace(html.charCodeAt(i))) i++;
        const quote = html[i];
        if (quote === '"' || quote === "'") {
          const end = html.indexOf(quote, i + 1);
          value = html.slice(i + 1, end === -1 ? n : end);
          i = end === -1 ? n : end + 1;
        } else {
          const start = i;
          while (i < n && !isSpace(html.charCodeAt(i)) && html[i] !== '>') i++;
          value = html.slice(start, i);
        }
      }
      if (wanted(tag, name)) out.push({ tag, name, value, at });
    }
  }
  return out;
}

const isAnchorAttribute = (_tag: string, name: string) => name === 'id' || name === 'name';
// <a href> and <img src> in HTML blocks (README headers): GitHub follows them like Markdown links.
const isLinkAttribute = (tag: string, name: string) => (tag === 'a' || tag === 'img') && (name === 'href' || name === 'src');

/** `<a ...>` alone, perhaps with its `</a>`: an anchor, not content. */
function isLoneAnchor(html: string): boolean {
  const text = html.trim();
  if (!/^<a\s/i.test(text)) return false;
  const end = text.indexOf('>');
  const rest = end === -1 ? undefined : text.slice(end + 1).trim();
  return rest === '' || rest?.toLowerCase() === '</a>';
}

const decodeEntities = (text: string) => (text.includes('&') ? md.utils.unescapeAll(text) : text);

function decodeTarget(href: string): string {
  if (!href.includes('%')) return href;
  try {
    return decodeURI(href);
  } catch {
    return href;
  }
}

/** Text of a heading as GitHub slugs it: text and code spans, no HTML, no image alt text. */
function headingText(children: readonly Token[]): string {
  let text = '';
  for (const child of children) {
    if (child.type === 'text' || child.type === 'code_inline') text += child.content;
    else if (child.type === 'softbreak' || child.type === 'hardbreak') text += '\n';
  }
  return text;
}

export function countWords(text: string): number {
  const words = text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu);
  return words ? words.length : 0;
}

export function parseMarkdown(source: string): ParsedMarkdown {
  const env: Record<string, unknown> = {};
  const tokens = md.parse(source, env);
  const lines = source.split('\n');
  const slugger = new GithubSlugger();
  const result: ParsedMarkdown = { headings: [], anchors: new Set(), links: [], code: [], prose: '', substantialBlocks: 0 };

  // Several links on one line: search each after the previous one. A destination not written verbatim
  // (an entity, say) is searched to the end of the line; the budget keeps a line of 100,000 such links
  // from costing 100,000 times its length, at the price of their columns.
  let searchLine = 0;
  let searchFrom = 0;
  let budget = 0;
  const find = (text: string, candidate: string) => {
    if (!candidate || budget <= 0) return -1;
    const at = text.indexOf(candidate, searchFrom);
    budget -= at < 0 ? text.length - searchFrom : at + candidate.length - searchFrom;
    return at;
  };
  const locate = (link: MarkdownLink, href: string): MarkdownLink => {
    const text = lines[link.line - 1] ?? '';
    if (link.line !== searchLine) {
      searchLine = link.line;
      searchFrom = 0;
      budget = 4 * text.length + 4096;
    }
    let candidate = href;
    let at = find(text, candidate);
    if (at < 0 && link.target !== href) {
      candidate = link.target;
      at = find(text, candidate);
    }
    if (at >= 0) {
      searchFrom = at + candidate.length;
      link.column = at + 1;
      link.raw = candidate;
    }
    return link;
  };
  const addHtmlAnchors = (html: string) => {
    for (const attribute of htmlAttributes(html, isAnchorAttribute)) if (attribute.value) result.anchors.add(attribute.value.toLowerCase());
  };

  const addHtmlLinks = (html: string, firstLine: number) => {
    let line = firstLine;
    let counted = 0;
    const seen = new Set<number>();
    for (const { tag, value, at } of htmlAttributes(html, isLinkAttribute)) {
      // A tag's first href or src is its link.
      if (!value || seen.has(at)) continue;
      seen.add(at);
      for (; counted < at; counted++) if (html.charCodeAt(counted) === 10) line++;
      result.links.push(locate({ kind: tag === 'img' ? 'image' : 'link', target: decodeTarget(decodeEntities(value)), line, text: '' }, value));
    }
  };

  let headingLevel = 0;
  let headingLine = 0;
  // Table cells have no map of their own: they are on the line of the last block token that has one.
  let blockLine = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const line = token.map ? (blockLine = token.map[0] + 1) : blockLine;
    switch (token.type) {
      case 'heading_open':
        headingLevel = Number(token.tag.slice(1));
        headingLine = line;
        break;
      case 'heading_close':
        headingLevel = 0;
        break;
      case 'fence':
      case 'code_block':
        result.code.push({ kind: 'fence', lang: token.info.trim().split(/\s+/)[0] ?? '', content: token.content, line: line + (token.type === 'fence' ? 1 : 0) });
        result.substantialBlocks++;
        break;
      case 'html_block':
        addHtmlAnchors(token.content);
        addHtmlLinks(token.content, line);
        if (!/^\s*<!--/.test(token.content) && !isLoneAnchor(token.content)) result.substantialBlocks++;
        break;
      case 'table_open':
        result.substantialBlocks++;
        break;
      case 'reference_definition': {
        const label = (token.meta as { label: string }).label;
        const ref = (env.references as Record<string, { href: string }> | undefined)?.[label];
        if (!ref) break;
        // The definition's line holds the destination unless it wraps; find the line that does.
        let defLine = line;
        const [from, to] = token.map ?? [0, 0];
        for (let l = from; l < to; l++) {
          if (lines[l].includes(ref.href) || lines[l].includes(decodeTarget(ref.href))) {
            defLine = l + 1;
            break;
          }
        }
        result.links.push(locate({ kind: 'definition', target: decodeTarget(ref.href), line: defLine, text: label }, ref.href));
        break;
      }
      case 'inline':
        if (headingLevel) {
          const text = headingText(token.children ?? []);
          const slug = slugger.slug(text);
          result.headings.push({ level: headingLevel, text, slug, line: headingLine });
          result.anchors.add(slug);
        }
        walkInline(token, line, headingLevel > 0);
        break;
    }
  }

  function walkInline(inline: Token, firstLine: number, inHeading: boolean) {
    const children = inline.children ?? [];
    const content = inline.content;
    let counted = 0;
    let lineAt = firstLine;
    const lineOf = (offset: number) => {
      for (; counted < offset && counted < content.length; counted++) if (content.charCodeAt(counted) === 10) lineAt++;
      return lineAt;
    };
    let linkDepth = 0;
    let linkText = '';
    let pending: MarkdownLink | undefined;
    let pendingHref = '';
    for (const child of children) {
      switch (child.type) {
        case 'link_open': {
          linkDepth++;
          const meta = child.meta as { offset?: number; label?: string } | null;
          // Reference-style uses are reported once, at their definition.
          if (meta && meta.label === undefined && child.info !== 'auto' && meta.offset !== undefined) {
            pendingHref = String(child.attrGet('href') ?? '');
            pending = { kind: 'link', target: decodeTarget(pendingHref), line: lineOf(meta.offset), text: '' };
          }
          linkText = '';
          break;
        }
        case 'link_close':
          linkDepth--;
          if (pending) {
            pending.text = linkText;
            result.links.push(locate(pending, pendingHref));
            pending = undefined;
          }
          break;
        case 'image': {
          const meta = (child.meta ?? {}) as { offset?: number; label?: string };
          const src = String(child.attrGet('src') ?? '');
          if (meta.label === undefined && meta.offset !== undefined)
            result.links.push(locate({ kind: 'image', target: decodeTarget(src), line: lineOf(meta.offset), text: child.content }, src));
          break;
        }
        case 'code_inline': {
          if (linkDepth) linkText += child.content;
          const offset = (child.meta as { offset?: number } | null)?.offset;
          result.code.push({ kind: 'inline', lang: '', content: child.content, line: offset === undefined ? lineAt : lineOf(offset) });
          break;
        }
        case 'html_inline':
          addHtmlAnchors(child.content);
          break;
        case 'text':
          if (linkDepth) linkText += child.content;
          else if (!inHeading) result.prose += `${child.content} `;
          break;
        case 'softbreak':
        case 'hardbreak':
          break;
      }
    }
  }

  for (const code of result.code) if (code.kind === 'inline') code.context = lines[code.line - 1];
  return result;
}
