// component.history: the revisions of a component (status, when, who, commit, description, tests).
import { argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';

export default defineCookbook<{ clusterName: string; component: string }>({
  summary: 'The revisions of a component on a cluster',
  options: { 'cluster-name': clusterNameOption, component: { type: 'string', requiresArg: true, demandOption: true, describe: 'Component name' } },
  examples: [['cookbook component.history --cluster-name toolsbeta --component web', 'Revisions of web']],
  lock: 'none',
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), component: argString(raw, 'component', { required: true }) }),
  async run(ctx, args) {
    const { componentHistory } = await import('../../lib/component/commands.js');
    return { revisions: await componentHistory(ctx, args.component) };
  },
});
