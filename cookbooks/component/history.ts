// component.history: the revisions of a component (status, when, who, commit, description, tests).
import { frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type ComponentArgs, componentOptions, parseComponentArgs } from '../../lib/component/options.js';

export default defineCookbook<ComponentArgs>({
  summary: 'The revisions of a component on a cluster',
  options: componentOptions,
  examples: [['cookbook component.history --cluster-name toolsbeta --component web', 'Revisions of web']],
  lock: 'none',
  parse: (raw) => frozen(parseComponentArgs(raw)),
  async run(ctx, args) {
    const { componentHistory } = await import('../../lib/component/commands.js');
    return { revisions: await componentHistory(ctx, args.component, args.repo, args.gitBranch) };
  },
});
