// component.test: run a component's bats functional tests against a cluster (results from TAP, per test).
import { frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import { type ComponentArgs, componentOptions, filterTagsOption, parseComponentArgs, parseFilterTags } from '../../lib/component/options.js';

export default defineCookbook<ComponentArgs & { filterTags: string[] }>({
  summary: "Run a component's functional tests (bats) against a cluster",
  options: { ...componentOptions, 'filter-tags': filterTagsOption },
  examples: [['cookbook component.test --cluster-name toolsbeta --component web', 'The tests tests.txt selects']],
  lock: 'none',
  parse: (raw) => frozen({ ...parseComponentArgs(raw), filterTags: parseFilterTags(raw) }),
  async run(ctx, args) {
    const { componentTest } = await import('../../lib/component/commands.js');
    return componentTest(ctx, args.component, args.filterTags, args.repo, args.gitBranch);
  },
});
