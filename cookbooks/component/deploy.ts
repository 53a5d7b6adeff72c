// component.deploy: render, validate server-side, diff, record a revision, apply (SSA + ApplySet, prune), wait,
// test with bats, and roll back to the last good revision when the rollout or the tests fail.
import { argDuration, argFlag, argInt, argString, durationOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { InputError } from '../../lib/core/errors.js';
// Type only: then.ts (and the deploy engine) load when the cookbook runs, not for `cookbook list`.
import type { DeployArgs } from '../../lib/component/then.js';
import { componentOptions, componentsOption, filterTagsOption, parseComponentsArgs, parseFilterTags } from '../../lib/component/options.js';

export default defineCookbook<DeployArgs>({
  summary: 'Deploy a component from the components repository (diff, apply, wait, test, roll back)',
  description: [
    'Renders the component for the cluster, validates every object with a server-side dry-run and shows the diff',
    '(--dry-run stops there). Nothing changed: no new revision. Otherwise records a pending revision (a Secret per',
    'revision), applies with server-side apply as a KEP-3659 ApplySet, prunes what is no longer rendered, waits for',
    'the rollout, marks it deployed and, with --run-tests, runs the bats tests. A failed rollout or failed tests',
    'roll back to the last good revision and re-test (unless --no-rollback). Several --component: all are rendered and',
    'validated first, then deployed one after another from the same checkout; the first failure stops the run.',
  ].join('\n'),
  options: {
    ...componentOptions,
    component: componentsOption,
    'run-tests': { type: 'boolean', default: false, describe: 'Run the functional tests (bats) after the rollout' },
    'filter-tags': filterTagsOption,
    'no-rollback': { type: 'boolean', default: false, describe: 'Leave a failed revision in place for debugging' },
    force: { type: 'boolean', default: false, describe: 'Deploy a new revision even when nothing changed (re-applies every object)' },
    'force-conflicts': { type: 'boolean', default: false, describe: 'Take over fields another field manager owns' },
    timeout: durationOption("Rollout timeout (default: component.yaml's waitTimeout, else 5m)", { min: 1000, max: 24 * 3_600_000 }),
    concurrency: { type: 'number', default: 8, describe: 'Objects applied at once' },
    then: { type: 'string', requiresArg: true, describe: 'After this cluster passed, deploy the same commit to this cluster' },
  },
  examples: [
    ['cookbook component.deploy --cluster-name toolsbeta --component builds-api --run-tests', 'Deploy, test, roll back on failure'],
    ['cookbook component.deploy --cluster-name toolsbeta --component web --dry-run', 'Show the diff only'],
    ['cookbook component.deploy --cluster-name toolsbeta --component web --run-tests --then tools', 'toolsbeta first, then tools'],
    ['cookbook component.deploy --cluster-name tools --component tool-policies --component web', 'Two components in one run'],
  ],
  parse: (raw) =>
    frozen({
      ...parseComponentsArgs(raw),
      runTests: argFlag(raw, 'run-tests'),
      filterTags: parseFilterTags(raw),
      noRollback: argFlag(raw, 'no-rollback'),
      force: argFlag(raw, 'force'),
      forceConflicts: argFlag(raw, 'force-conflicts'),
      timeoutMs: argDuration(raw, 'timeout', { min: 1000, max: 24 * 3_600_000 }),
      concurrency: argInt(raw, 'concurrency', { min: 1, max: 64, default: 8 })!,
      then: argString(raw, 'then'),
    }),
  validate(cluster, args) {
    if (args.then === cluster.name) throw new InputError(`--then ${args.then} names the cluster being deployed`, { context: { option: 'then' }, hint: 'give the next cluster, e.g. --then tools' });
    if (args.filterTags.length && !args.runTests) throw new InputError('--filter-tags selects tests, but --run-tests is not given', { context: { option: 'filter-tags' }, hint: 'add --run-tests' });
  },
  async run(ctx, args) {
    const { deployWithThen } = await import('../../lib/component/then.js');
    return deployWithThen(ctx, args);
  },
});
