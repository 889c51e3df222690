// "Did you mean …?" for misspelt keys, job names, functions and values: the closest candidate by
// edit distance, counting a swap of two neighbours as one edit (stpes → steps is one typo, not two).

// One table reused by every call: did-you-mean runs once per unknown key or job, thousands of
// times for a file full of them.
let table = new Int32Array(256);

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  if (table.length < rows * cols) table = new Int32Array(rows * cols);
  const d = table;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[a.length * cols + b.length]!;
}

/** Words longer than this get no suggestion: nobody misspells a 65-character name by a few letters. */
const MAX_SUGGESTED_LENGTH = 64;

/**
 * The candidate closest to `word`, or undefined when none is close enough to be a plausible typo:
 * a third of the word's length (at least one edit), so short keys do not suggest unrelated ones.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > MAX_SUGGESTED_LENGTH) return undefined;
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    // The distance is at least the difference in length: skip the table for hopeless candidates,
    // which keeps a huge unknown key (or thousands of job names) cheap.
    if (Math.abs(candidate.length - word.length) > limit) continue;
    // A difference of case only is always the intended word.
    const distance = candidate.toLowerCase() === lower ? 0.5 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** ` (did you mean 'x'?)` or the empty string: ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : ` (did you mean '${match}'?)`;
}

/** Names for a message, at most `max` of them: "a, b, c, … (250 in all)". */
export function listOf(names: readonly string[], max = 10): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')}, … (${names.length} in all)`;
}
