import type { Finding } from '../../report/finding';
import type { ParsedMarkdown } from './markdown';
import type { Resolved } from './paths';
import type { RetiredCommand } from './retired';
import type { SuggestionBudget } from './suggest';

/** Project name -> its target names: the part of the Nx project graph the command rule needs. */
export type ProjectTargets = Record<string, readonly string[]>;

/** A replacement of `from` by `to` on (or, when the file changed, nearest to) a 1-based line. */
export interface TextEdit {
  file: string;
  line: number;
  from: string;
  to: string;
}

export interface DocsFinding extends Finding {
  /** What --fix would change; absent when the fix needs a person. */
  edit?: TextEdit;
}

export interface DocsCheckInput {
  /** Every file of the repository (workspace-relative, forward slashes): link targets must be among them or their folders. */
  files: ReadonlySet<string>;
  /** Content of Markdown files: every file in `checked`, plus any other Markdown file links may point into. */
  markdown: ReadonlyMap<string, string>;
  /** Markdown files whose links and commands are checked (the docs folder and READMEs). */
  checked: readonly string[];
  /** Workspace-relative docs folder, whose pages must follow the Divio structure. */
  docsDir: string;
  /** The project graph; undefined skips the stale-command rule with a note. */
  graph?: ProjectTargets;
  /** Pages that moved: old workspace-relative path -> new one. Links to old paths are rewritten by --fix. */
  moved?: Readonly<Record<string, string>>;
  /** Commands that no longer exist, and what replaces them (the docs-check option retiredCommands). */
  retired?: readonly RetiredCommand[];
  /** A page with at most this many words of its own prose and nothing else but links is a stub. Default 30. */
  stubMaxWords?: number;
  /** Rule ids to leave out. */
  disabledRules?: readonly string[];
  /** Pages to check that were not read, and why (docs/unreadable). */
  unreadable?: ReadonlyMap<string, string>;
}

export interface DocsCheckResult {
  findings: DocsFinding[];
  /** Things the reader should know about the run itself (e.g. a rule skipped). */
  notes: string[];
}

/** Shared, lazily filled view of the tree for the rules. */
export interface DocsContext {
  input: DocsCheckInput;
  /** Shared by every "did you mean" of the run. */
  suggestions: SuggestionBudget;
  dirs: ReadonlySet<string>;
  parse(path: string): ParsedMarkdown | undefined;
  /** resolveLink, memoised per folder and destination. */
  resolve(from: string, target: string, image: boolean): Resolved;
}
