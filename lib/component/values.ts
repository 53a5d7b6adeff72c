// Values: values/common.yaml, then values/<cluster>.yaml on top (the cluster's values win). Maps merge
// key by key; anything else (lists, scalars, null) from the later file replaces the earlier one, as Helm does.

/** A plain values tree. */
export type Values = Record<string, unknown>;

function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges values files in order: later files win; maps merge, lists and scalars replace. */
export function mergeValues(...layers: readonly (Values | undefined)[]): Values {
  const out: Values = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) {
      const prev = out[k];
      out[k] = isMap(prev) && isMap(v) ? mergeValues(prev, v) : structuredClone(v);
    }
  }
  return out;
}
