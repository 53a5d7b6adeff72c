// Templates: LiquidJS in strict mode. A variable or filter that the values do not define is an error naming the
// template file, the line and the missing key; it never renders as an empty string (Helm's default, and the
// cause of the "unrelated-looking template error" operators knew).
import { createRequire } from 'node:module';
import { CookbookError } from '../core/errors.js';
import { ComponentInputError } from './errors.js';

/** What we use of LiquidJS (loaded on first use, so a missing install fails only the component cookbooks). */
interface LiquidEngine {
  parseAndRenderSync(source: string, scope: object, options?: object): unknown;
}

let engine: LiquidEngine | undefined;

function liquid(): LiquidEngine {
  if (engine) return engine;
  let mod: { Liquid: new (options: object) => LiquidEngine };
  try {
    mod = createRequire(import.meta.url)('liquidjs') as typeof mod;
  } catch (err) {
    throw new CookbookError('the template engine (the npm package liquidjs) is not installed', { cause: err, hint: 'reinstall cluster-cookbooks (npm install): liquidjs is one of its dependencies' });
  }
  engine = new mod.Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true, greedy: false });
  return engine;
}

/** What a template sees: the merged values, the component and the cluster. */
export interface TemplateScope {
  values: Record<string, unknown>;
  component: { name: string; namespace: string };
  cluster: { name: string };
}

/** Renders one template; `file` (relative to the repository) names it in errors. */
export function renderTemplate(source: string, file: string, scope: TemplateScope): string {
  const e = liquid();
  try {
    return e.parseAndRenderSync(source, scope, { globals: {} }) as string;
  } catch (err) {
    throw templateError(err, file);
  }
}

/** Turns a LiquidJS error into a ComponentInputError with file, line and the missing key. */
export function templateError(err: unknown, file: string): ComponentInputError {
  const e = err as Error & { token?: { getPosition?: () => [number, number] }; originalError?: Error };
  const position = e.token?.getPosition?.();
  const line = position?.[0];
  const raw = (e.originalError?.message ?? e.message ?? String(err)).replace(/, line:\d+, col:\d+$/, '');
  const undefinedVar = /^undefined (variable|filter): (.+)$/.exec(raw);
  const where = `${file}${line !== undefined ? `:${line}` : ''}`;
  if (undefinedVar) {
    const kind = undefinedVar[1]!;
    const key = undefinedVar[2]!;
    return new ComponentInputError(`${where}: ${kind === 'variable' ? `the value "${key}" is not defined` : `unknown filter "${key}"`}`, {
      context: { file, line, key },
      cause: err,
      hint: kind === 'variable' ? `define ${key.replace(/^values\./, '')} in values/common.yaml or the cluster's values file` : 'use a LiquidJS built-in filter',
    });
  }
  return new ComponentInputError(`${where}: template error: ${raw}`, { context: { file, line }, cause: err, hint: 'fix the template syntax (LiquidJS)' });
}
