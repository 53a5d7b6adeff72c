// Templates: LiquidJS in strict mode. A variable or filter that the values do not define is an error naming the
// template file, the line and the missing key; it never renders as an empty string (Helm's default, and the
// cause of the "unrelated-looking template error" operators knew).
import { Liquid, type LiquidError } from 'liquidjs';
import { ComponentInputError } from './errors.js';

const engine = new Liquid({ strictVariables: true, strictFilters: true, ownPropertyOnly: true, greedy: false });

/** What a template sees: the merged values, the component and the cluster. */
export interface TemplateScope {
  values: Record<string, unknown>;
  component: { name: string; namespace: string };
  cluster: { name: string };
}

/** Renders one template; `file` (relative to the repository) names it in errors. */
export function renderTemplate(source: string, file: string, scope: TemplateScope): string {
  try {
    return engine.parseAndRenderSync(source, scope as unknown as Record<string, unknown>, { globals: {} }) as string;
  } catch (err) {
    throw templateError(err, file);
  }
}

/** Turns a LiquidJS error into a ComponentInputError with file, line and the missing key. */
export function templateError(err: unknown, file: string): ComponentInputError {
  const e = err as LiquidError & { token?: { getPosition?: () => [number, number] }; originalError?: Error };
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
