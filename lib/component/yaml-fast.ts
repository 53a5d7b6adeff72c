// A fast path for parsing rendered manifests: the `yaml` library (our reference parser) builds a full document
// model and took ~0.5 ms per object, most of a 3,700-object first deploy's render; js-yaml parses the same
// text about 10x faster. To give exactly the objects `yaml` gives, js-yaml runs with a schema that copies
// `yaml`'s YAML 1.2 core scalar rules (null, bool, int, float: the same regexes; no timestamps, no binary
// ints, no merge keys), and any text where the two could still differ is left to `yaml`: directives, tags,
// explicit or merge keys, null-like keys. Whatever js-yaml refuses is also left to `yaml`, so errors (file,
// line, message) stay those of the reference parser. js-yaml is optional: without it every text goes to `yaml`.
import { createRequire } from 'node:module';

/** What we use of js-yaml (loaded on first use). */
interface JsYaml {
  loadAll(text: string, iterator: null, options: { schema: unknown; json?: boolean }): unknown[];
  Type: new (tag: string, options: { kind: 'scalar'; resolve: (data: string | null) => boolean; construct: (data: string | null) => unknown }) => unknown;
  FAILSAFE_SCHEMA: { extend(types: { implicit: unknown[] }): unknown };
}

let loaded: { lib: JsYaml; schema: unknown } | null | undefined;

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

function jsYaml(): { lib: JsYaml; schema: unknown } | null {
  if (loaded !== undefined) return loaded;
  try {
    const lib = createRequire(import.meta.url)('js-yaml') as JsYaml;
    const scalar = (tag: string, test: (s: string) => boolean, construct: (s: string) => unknown): unknown =>
      new lib.Type(`tag:yaml.org,2002:${tag}`, { kind: 'scalar', resolve: (d) => d !== null && test(d), construct: (d) => construct(d ?? '') });
    const schema = lib.FAILSAFE_SCHEMA.extend({
      implicit: [
        new lib.Type('tag:yaml.org,2002:null', { kind: 'scalar', resolve: (d) => d === null || NULL.test(d), construct: () => null }),
        scalar('bool', (s) => BOOL.test(s), (s) => s[0] === 't' || s[0] === 'T'),
        scalar('int', (s) => INT_OCT.test(s) || INT.test(s) || INT_HEX.test(s), (s) => (INT_OCT.test(s) ? parseInt(s.slice(2), 8) : INT_HEX.test(s) ? parseInt(s.slice(2), 16) : parseInt(s, 10))),
        scalar(
          'float',
          (s) => FLOAT_NAN.test(s) || FLOAT_EXP.test(s) || FLOAT.test(s),
          (s) => (FLOAT_NAN.test(s) ? (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity) : parseFloat(s)),
        ),
      ],
    });
    loaded = { lib, schema };
  } catch {
    loaded = null;
  }
  return loaded;
}

/**
 * Text where js-yaml and `yaml` could disagree without an error: a directive (%YAML 1.1 changes the schema),
 * a tag, an explicit (?) or merge (<<) key, or a null-like key ("" for `yaml`, "null" for js-yaml).
 */
const NOT_FAST = /^%|(?:^|[\s[{,])!|(?:^|[\s[{,])\?(?:\s|$)|<<|(?:^|[\s[{,])(?:~|null|Null|NULL)?\s*:(?:\s|$)/m;

/**
 * The documents of a multi-document YAML text as plain values, exactly as `yaml`'s parseAllDocuments(text)
 * .map(toJS) gives them; undefined when the text must go through `yaml` (see above, or js-yaml refused it).
 */
export function fastParseAll(text: string): unknown[] | undefined {
  const y = jsYaml();
  if (!y || NOT_FAST.test(text)) return undefined;
  try {
    return y.lib.loadAll(text, null, { schema: y.schema });
  } catch {
    return undefined;
  }
}

/** Whether the fast parser is installed (js-yaml resolvable). */
export function fastParserAvailable(): boolean {
  return jsYaml() !== null;
}
