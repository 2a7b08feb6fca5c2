/**
 * "Did you mean …?" for mistyped flags and commands. A typo answered only with "--topic and
 * --channel are required" sends the user looking in the wrong place; naming the word they typed and
 * the nearest known one points at the fix.
 */

/** Edit distance with adjacent swaps counted as one edit (`lsit` is one edit from `list`). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The most edits a word can be from the one meant and still read as its typo: two, or a third of its length. */
function typoLimit(word: string): number {
  return Math.max(2, Math.floor(word.length / 3));
}

/**
 * The known word nearest to `word`, or undefined when none is close enough to be a likely typo. A
 * single letter (`-t`, a short flag we do not have) matches the first known word it starts.
 */
export function nearest(word: string, known: readonly string[]): string | undefined {
  if (word.length === 1) return known.find((candidate) => candidate.startsWith(word));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    // A word with an extra suffix (`slow-threshold-ms`) or a cut-short one is a likely slip too.
    const distance = candidate.startsWith(word) || word.startsWith(candidate) ? Math.min(2, editDistance(word, candidate)) : editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= typoLimit(word) ? best : undefined;
}

/** ` (did you mean --topic?)`, or '' when nothing is near. */
export function didYouMean(word: string, known: readonly string[], prefix = ''): string {
  const found = nearest(word, known);
  return found === undefined ? '' : `; did you mean ${prefix}${found}?`;
}

/** The message for an unknown flag as typed (`--tpoic`, `-t`), with the nearest known flag. */
export function unknownFlagMessage(typed: string, knownFlags: readonly string[]): string {
  const name = typed.replace(/^-+/, '').split('=')[0]!;
  return `unknown flag ${typed.split('=')[0]}${didYouMean(name, knownFlags, '--')}`;
}

/**
 * The one name of `names` a typo away from `word`: within two edits, or a third of its length, and
 * closer than every other; undefined when none is, or several are (`audit` for audit1 and audit2),
 * or `word` is too short to tell (`a`).
 */
export function onlyNear(word: string, names: readonly string[]): string | undefined {
  if (word.length < 3) return undefined;
  const near = names.map((name) => ({ name, distance: editDistance(word, name) })).filter(({ distance }) => distance <= typoLimit(word));
  const best = Math.min(...near.map(({ distance }) => distance));
  const closest = near.filter(({ distance }) => distance === best);
  return closest.length === 1 ? closest[0]!.name : undefined;
}
