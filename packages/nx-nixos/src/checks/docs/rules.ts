/** Rule ids of docs-check and what each one finds (SARIF rule table, docs). */
export const DOCS_RULES: Record<string, string> = {
  'docs/missing-file': 'A relative link or image points to a file or folder that does not exist.',
  'docs/missing-anchor': 'A link points to a heading or explicit anchor that the target page does not have.',
  'docs/escapes-repo': 'A relative link resolves outside the repository.',
  'docs/moved-page': 'A link points to a page that moved (option "moved"); --fix rewrites it.',
  'docs/no-index': 'The docs folder has no README.md or index.md.',
  'docs/outside-divio': 'A page is not under tutorials/, how-to/, reference/, explanation/ or adr/.',
  'docs/orphan': 'No index page links to the page, directly or through other index pages.',
  'docs/stub': 'A page only points elsewhere.',
  'docs/link-to-stub': 'A link points to a stub page instead of the page it points to; --fix rewrites it.',
  'docs/stale-command': 'An nx command names a project or target that is not in the project graph.',
  'docs/retired-command': 'A command of the retired CLI or scripts; --fix writes its replacement.',
  'docs/unreadable': 'A page to check is not a regular file inside the repository (a symlink leading out of it, a FIFO, a device) or is too large; it is not read.',
};
