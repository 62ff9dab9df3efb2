/**
 * What suggestions may still cost in one run, in cells of the distance table. Names come from the
 * repository, so a run with 100,000 broken links gives up suggesting rather than compare each of them
 * with every candidate.
 */
export interface SuggestionBudget {
  remaining: number;
}

export const suggestionBudget = (): SuggestionBudget => ({ remaining: 200_000_000 });

/** Names longer than this get no suggestion: a typo is found in a name, not in a paragraph. */
const MAX_SUGGESTED_LENGTH = 200;

/** Levenshtein distance, bounded: returns max + 1 as soon as it is certain to exceed `max`. Charges the cells it computes to `budget`. */
export function distance(a: string, b: string, max = Infinity, budget?: SuggestionBudget): number {
  // Comparisons instead of Math.min and Math.abs: this is the inner loop of every suggestion, and Math
  // calls cost far more than comparisons in some hosts (Jest's sandbox: 60 times).
  if (a.length - b.length > max || b.length - a.length > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const insert = prev[j] + 1;
      const remove = row[j - 1] + 1;
      const replace = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      const value = insert < remove ? (insert < replace ? insert : replace) : remove < replace ? remove : replace;
      row.push(value);
      if (value < best) best = value;
    }
    if (budget) budget.remaining -= b.length;
    if (best > max) return max + 1;
    prev = row;
  }
  return prev[b.length];
}

/** The candidate most similar to `value` (similarity = 1 - distance / longer length), if at least `threshold`. */
export function closest(value: string, candidates: Iterable<string>, threshold: number, budget?: SuggestionBudget): string | undefined {
  if (value.length > MAX_SUGGESTED_LENGTH) return undefined;
  let best: string | undefined;
  let bestScore = threshold;
  for (const candidate of candidates) {
    const longer = value.length > candidate.length ? value.length : candidate.length;
    if (!longer || candidate.length > MAX_SUGGESTED_LENGTH) continue;
    if (budget) {
      if (budget.remaining <= 0) return best;
      budget.remaining--;
    }
    const allowed = ((1 - bestScore) * longer) | 0; // floor of a small non-negative number
    const d = distance(value, candidate, allowed, budget);
    if (d > allowed) continue;
    const score = 1 - d / longer;
    if (score > bestScore || (score === bestScore && !best)) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
