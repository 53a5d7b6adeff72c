// component.status: every component deployed on a cluster, with its revision, commit and workload health.
import { argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';

export default defineCookbook<{ clusterName: string }>({
  summary: 'Every component on a cluster: revision, SHA, health',
  options: { 'cluster-name': clusterNameOption },
  examples: [['cookbook component.status --cluster-name toolsbeta', 'What is deployed on toolsbeta']],
  lock: 'none',
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }) }),
  async run(ctx) {
    const { componentStatus } = await import('../../lib/component/commands.js');
    return { components: await componentStatus(ctx) };
  },
});
