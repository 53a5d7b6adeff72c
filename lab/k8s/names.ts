// Deterministic name generation (generateName suffixes, pod-template hashes) and resource quantities.
import { mulberry32 } from '../world.js';

/** The alphabet the API server uses for generated name suffixes (no vowels, no confusable digits). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A seeded source of random name suffixes and UIDs. */
export class NameSource {
  private readonly rng: () => number;

  constructor(seed: number) {
    this.rng = mulberry32((seed ^ 0x6b383573) >>> 0);
  }

  /** A random [0,1) number. */
  next(): number {
    return this.rng();
  }

  /** `n` random characters from the generateName alphabet. */
  suffix(n = 5): string {
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(this.rng() * ALPHABET.length)];
    return s;
  }

  /** A version-4-shaped UUID from the seeded generator. */
  uid(): string {
    const hex: string[] = [];
    for (let i = 0; i < 32; i++) hex.push(Math.floor(this.rng() * 16).toString(16));
    hex[12] = '4';
    hex[16] = '89ab'[Math.floor(this.rng() * 4)]!;
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

/** FNV-1a 32-bit hash encoded like the controllers' pod-template-hash (safe alphabet). */
export function templateHash(value: unknown): string {
  // Stored objects are never changed in place: a template object hashes the same every time (controllers
  // re-sync a Deployment on every change of its pods).
  if (value && typeof value === 'object') {
    const known = hashCache.get(value);
    if (known !== undefined) return known;
    const h = computeTemplateHash(value);
    hashCache.set(value, h);
    return h;
  }
  return computeTemplateHash(value);
}
const hashCache = new WeakMap<object, string>();

function computeTemplateHash(value: unknown): string {
  const text = JSON.stringify(value);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let s = '';
  let n = h;
  do {
    s += ALPHABET[n % ALPHABET.length];
    n = Math.floor(n / ALPHABET.length);
  } while (n > 0);
  return s.slice(0, 10);
}

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

/** Parses a resource quantity (`100m`, `128Mi`, `2`, `1e3`) to a number; NaN when malformed. */
export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(q.trim());
  if (!m) return NaN;
  return Number(m[1]) * SUFFIX[m[2] ?? '']!;
}

/** Resolves an int-or-percent against a total: `25%` of 10 rounds up or down as asked. */
export function intOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const pct = Number(value.slice(0, -1));
    const raw = (pct * total) / 100;
    return roundUp ? Math.ceil(raw) : Math.floor(raw);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return NaN;
}
