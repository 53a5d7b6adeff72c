// "Did you mean": which known names are close to a mistyped one. One table of (typed, known) → suggestions.
import { strict as assert } from 'node:assert';
import { didYouMean, suggest } from '../../lib/inventory/suggest.js';

describe('inventory suggest', () => {
  const rows: [string, string, string[], string[]][] = [
    ['- and _ are the same name', 'worker-nfs', ['worker', 'worker_nfs', 'control'], ['worker_nfs']],
    ['. and - too', 'k8s.add_node', ['k8s.add-node', 'k8s.drain'], ['k8s.add-node']],
    ['case does not matter', 'Control', ['control', 'etcd'], ['control']],
    ['one letter missing', 'k8s.dran', ['k8s.add-node', 'k8s.drain'], ['k8s.drain']],
    ['closest first', 'worke', ['worker_nfs', 'worker'], ['worker', 'worker_nfs']],
    ['a far name is left out', 'tols', ['toolsbeta', 'tools', 'local'], ['tools']],
    ['a part of a longer name', 'drain', ['k8s.drain', 'k8s.reboot'], ['k8s.drain']],
    ['at most three', 'w', ['w1', 'w2', 'w3', 'w4'], ['w1', 'w2', 'w3']],
    ['nothing close', 'zzzzzzzz', ['k8s.drain'], []],
    ['nothing known', 'x', [], []],
  ];
  for (const [title, name, known, want] of rows) it(`${title}: ${name} → ${want.join(', ') || 'none'}`, () => assert.deepEqual(suggest(name, known), want));

  const phrases: [string, string[], string][] = [
    ['worker-nfs', ['worker_nfs'], '; did you mean worker_nfs?'],
    ['zzzzzzzz', ['worker'], ''],
  ];
  for (const [name, known, want] of phrases) it(`didYouMean ${name} → ${JSON.stringify(want)}`, () => assert.equal(didYouMean(name, known), want));
});
