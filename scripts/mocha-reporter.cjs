// Mocha's spec reporter plus one closing line `N passed, N failed[, N skipped]` taken from mocha's own stats:
// CI counts tests only from such a line, and mocha's "421 passing" is not one.
'use strict';
const Mocha = require('mocha');

const { Spec } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

/** Spec output, then the plain closing line. */
class CountingReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    // Registered after Spec's own listener, so the line comes after Spec's epilogue (failures included).
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats ?? this.stats;
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      process.stdout.write(`${s.passes} passed, ${s.failures} failed${skipped}\n`);
    });
  }
}

module.exports = CountingReporter;
