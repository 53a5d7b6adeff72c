// Shared bench helpers: medians, timing of whole processes, the final JSON line.

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Prints the bench's figures as its last line: one JSON object starting with {"bench":NAME. */
export function report(name: string, figures: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ bench: name, ...figures }) + '\n');
}
