// Units of the rollout planner: Kubernetes quantities, natural name order, medians and how capacity is shown.

/** CPU in cores and memory in bytes. */
export interface Resources {
  cpu: number;
  memory: number;
}

// One collator for every comparison: String.localeCompare with options builds one per call, which shows in
// profiles of large rollouts (the planner sorts on every round).
const collator = new Intl.Collator('en', { numeric: true });

/** Natural order of names: worker-2 before worker-10. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}

/** Parses a Kubernetes quantity ("100m", "1.5", "64Mi", "1G", "2e3") into a number of base units. */
export function parseQuantity(text: string | number | undefined): number {
  if (text === undefined || text === null || text === '') return 0;
  if (typeof text === 'number') return text;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const unit = m[2];
  if (!unit) return n;
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  return n * factors[unit]!;
}

/** "2.5 CPU": how capacity shortfalls are reported. */
export function formatCpu(cores: number): string {
  // One decimal where it is exact (2.5, 1.0), two otherwise (0.05): small requests must not read as zero.
  const oneDecimal = Math.abs(cores * 10 - Math.round(cores * 10)) < 1e-9;
  return `${cores.toFixed(oneDecimal ? 1 : 2)} CPU`;
}

/** "1.2 GiB": how memory shortfalls are reported. */
export function formatGiB(bytes: number): string {
  return `${(Math.round((bytes / 2 ** 30) * 10) / 10).toFixed(1)} GiB`;
}

/** The median of a list (undefined when empty). */
export function medianOf(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
