// component.rollback: a new revision that copies an earlier one (default: the last good revision below the
// current, never a failed one), applied, pruned and waited for.
import { argDuration, argInt, argString, clusterNameOption, durationOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';

interface Args {
  clusterName: string;
  component: string;
  toRevision?: number;
  timeoutMs?: number;
}

export default defineCookbook<Args>({
  summary: 'Roll a component back to its last good revision (or --to-revision N)',
  options: {
    'cluster-name': clusterNameOption,
    component: { type: 'string', requiresArg: true, demandOption: true, describe: 'Component name' },
    'to-revision': { type: 'number', requiresArg: true, describe: 'Revision to go back to (default: the last deployed or superseded one below the current)' },
    timeout: durationOption('Rollout timeout', { min: 1000, max: 24 * 3_600_000, default: 5 * 60_000 }),
  },
  examples: [
    ['cookbook component.rollback --cluster-name toolsbeta --component web', 'Back to the last good revision'],
    ['cookbook component.rollback --cluster-name toolsbeta --component web --to-revision 3', 'Back to revision 3'],
  ],
  parse: (raw) =>
    frozen({
      clusterName: argString(raw, 'cluster-name', { required: true }),
      component: argString(raw, 'component', { required: true }),
      toRevision: argInt(raw, 'to-revision', { min: 1 }),
      timeoutMs: argDuration(raw, 'timeout', { min: 1000, max: 24 * 3_600_000, default: 5 * 60_000 }),
    }),
  async run(ctx, args) {
    const { componentRollback } = await import('../../lib/component/commands.js');
    return componentRollback(ctx, args.component, args.toRevision, args.timeoutMs);
  },
});
