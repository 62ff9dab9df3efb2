/** Levenshtein distance, bounded: returns max + 1 as soon as it is certain to exceed `max`. */
export function distance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(value);
      if (value < best) best = value;
    }
    if (best > max) return max + 1;
    prev = row;
  }
  return prev[b.length];
}

/** The candidate most similar to `value` (similarity = 1 - distance / longer length), if at least `threshold`. */
export function closest(value: string, candidates: Iterable<string>, threshold: number): string | undefined {
  let best: string | undefined;
  let bestScore = threshold;
  for (const candidate of candidates) {
    const longer = Math.max(value.length, candidate.length);
    if (!longer) continue;
    const allowed = Math.floor((1 - bestScore) * longer);
    const d = distance(value, candidate, allowed);
    if (d > allowed) continue;
    const score = 1 - d / longer;
    if (score > bestScore || (score === bestScore && !best)) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
