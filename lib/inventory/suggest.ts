// "Did you mean": the known names closest to a mistyped one (cookbooks, roles, clusters, hosts).
import { closest, distance } from 'fastest-levenshtein';

/** Up to three known names close to `name` (edit distance, with `-`/`_` and case treated alike, or substring). */
export function suggest(name: string, known: readonly string[]): string[] {
  // worker-nfs and worker_nfs differ by one edit, but they are the same name to the operator.
  const norm = (s: string): string => s.toLowerCase().replace(/[-_.]/g, '-');
  const n = norm(name);
  const scored = known
    .map((k) => {
      const nk = norm(k);
      return { k, d: nk === n ? -10 : distance(n, nk) - (nk.includes(n) || n.includes(nk) ? 3 : 0) };
    })
    .filter(({ k, d }) => d <= Math.max(2, Math.floor(k.length / 3)))
    .sort((a, b) => a.d - b.d)
    .map(({ k }) => k);
  const same = known.filter((k) => norm(k) === n);
  if (same.length) return same.slice(0, 3);
  if (scored.length === 0 && known.length) {
    const c = closest(name, known as string[]);
    if (distance(name, c) <= Math.max(3, Math.floor(name.length / 2))) scored.push(c);
  }
  return scored.slice(0, 3);
}

/** "; did you mean a, b?" or "" when nothing is close. */
export function didYouMean(name: string, known: readonly string[]): string {
  const close = suggest(name, known);
  return close.length ? `; did you mean ${close.join(', ')}?` : '';
}
