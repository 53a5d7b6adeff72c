// component.diff: what a deploy would change (created, changed with a readable diff, pruned), Secret data masked.
import { argFlag, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type ComponentArgs, componentOptions, parseComponentArgs } from '../../lib/component/options.js';

export default defineCookbook<ComponentArgs & { forceConflicts: boolean }>({
  summary: 'Show what a deploy of a component would change',
  options: { ...componentOptions, 'force-conflicts': { type: 'boolean', default: false, describe: 'Validate as a deploy with --force-conflicts would' } },
  examples: [['cookbook component.diff --cluster-name toolsbeta --component web --git-branch bump_web', 'Diff of a branch against the cluster']],
  lock: 'none',
  parse: (raw) => frozen({ ...parseComponentArgs(raw), forceConflicts: argFlag(raw, 'force-conflicts') }),
  async run(ctx, args) {
    const { componentDiff } = await import('../../lib/component/commands.js');
    return componentDiff(ctx, args.component, args.repo, args.gitBranch, args.forceConflicts);
  },
});
