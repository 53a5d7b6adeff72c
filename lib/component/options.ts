// Options shared by the component.* cookbooks (cookbooks/component/), parsed once at the edge.
import type { Options } from 'yargs';
import { argList, argString, clusterNameOption } from '../core/args.js';
import type { RawArgs } from '../core/cookbook.js';
import { UsageError } from '../core/errors.js';

/** --cluster-name, --component, --repo, --git-branch. */
export const componentOptions: Record<string, Options> = Object.freeze({
  'cluster-name': clusterNameOption,
  component: { type: 'string', requiresArg: true, demandOption: true, describe: 'Component name (a directory under components/ of the repository)' },
  repo: { type: 'string', requiresArg: true, describe: "Components repository: a directory or a git URL (default: the cluster's components.repo)" },
  'git-branch': { type: 'string', requiresArg: true, describe: "Branch to deploy from (default: the cluster's components.branch; a git URL's default branch)" },
});

/** --filter-tags (repeatable, bats semantics). */
export const filterTagsOption: Options = Object.freeze({
  type: 'string',
  array: true,
  requiresArg: true,
  describe: "bats tag filter (repeatable: any matches; commas: all of; !tag: not), instead of the component's tests.txt",
});

/** The common arguments, typed. */
export interface ComponentArgs {
  clusterName: string;
  component: string;
  repo?: string;
  gitBranch?: string;
}

/** --component for component.deploy: repeatable (several components, deployed in the order given). */
export const componentsOption: Options = Object.freeze({
  ...componentOptions.component,
  array: true,
  describe: 'Component name (a directory under components/ of the repository); repeatable, or comma-separated: deployed one after another in one run',
});

function checkName(component: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(component)) {
    throw new UsageError(`--component: "${component}" is not a component name`, { context: { option: 'component', value: component }, hint: 'component names are directory names under components/: lowercase letters, digits and "-"' });
  }
  return component;
}

/** Parses --cluster-name, --component, --repo, --git-branch. */
export function parseComponentArgs(raw: RawArgs): ComponentArgs {
  const component = checkName(argString(raw, 'component', { required: true }));
  return { clusterName: argString(raw, 'cluster-name', { required: true }), component, repo: argString(raw, 'repo'), gitBranch: argString(raw, 'git-branch') };
}

/** Parses the common arguments with --component repeatable (and comma-separated); a name given twice is refused. */
export function parseComponentsArgs(raw: RawArgs): ComponentArgs & { components: string[] } {
  const components = argList(raw, 'component').map(checkName);
  if (components.length === 0) throw new UsageError('--component: is required', { context: { option: 'component' }, hint: 'name the component(s) to deploy' });
  const twice = components.find((c, i) => components.indexOf(c) !== i);
  if (twice) throw new UsageError(`--component: ${twice} is given twice`, { context: { option: 'component', value: twice }, hint: 'name each component once' });
  const common = parseComponentArgs({ ...raw, component: components[0] });
  return { ...common, components };
}

/** Parses --filter-tags (each value is one bats filter; commas stay inside it: they mean AND). */
export function parseFilterTags(raw: RawArgs): string[] {
  return argList(raw, 'filter-tags', { split: false });
}
