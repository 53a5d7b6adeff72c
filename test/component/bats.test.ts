// bats results read from both of its outputs (real bats, no cluster): the JUnit report (the engine's default:
// file, time and failure text per test) and the TAP stream give the same results, names with XML-special
// characters included; an incomplete report is refused rather than read as "nothing failed".
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJunit } from '../../lib/component/junit.js';
import { parseTap, runBats, selectTests } from '../../lib/component/bats.js';
import { cleanupTempDirs, tempDir } from '../helpers/cli.js';

const SUITE = `# bats file_tags=demo
@test "passes" { true; }
@test "fails <&> \\"quoted\\"" { echo "what went wrong"; [ 1 -eq 2 ]; }
@test "skipped" { skip "not today"; }
# bats test_tags=other
@test "not selected" { false; }
`;

describe('bats results from its JUnit report and its TAP stream (real bats)', function () {
  this.timeout(30_000);
  let root: string;
  before(() => {
    root = tempDir('cc-bats-');
    mkdirSync(join(root, 'functional-tests', 'admin'), { recursive: true });
    writeFileSync(join(root, 'functional-tests', 'admin', 'demo.bats'), SUITE);
  });
  after(() => cleanupTempDirs());

  for (const format of ['junit', 'tap'] as const) {
    it(`--formatter ${format}: every selected test with pass/fail, skip, time and the failure's output`, async () => {
      const tests = selectTests(root, ['demo,!other']);
      assert.equal(tests.length, 3);
      const run = await runBats(root, tests, { kubeconfig: '/dev/null', format });
      assert.deepEqual(
        run.results.map((r) => [r.name, r.ok, r.skipped ?? false, r.file]),
        [
          ['passes', true, false, 'functional-tests/admin/demo.bats'],
          ['fails <&> "quoted"', false, false, 'functional-tests/admin/demo.bats'],
          ['skipped', true, true, 'functional-tests/admin/demo.bats'],
        ],
      );
      assert.ok(typeof run.results[0]!.durationMs === 'number', `a time for the passed test (${format})`);
      assert.equal(run.passed, false);
      assert.deepEqual(run.failed, ['fails <&> "quoted"']);
      assert.ok(run.diagnostics['fails <&> "quoted"']!.some((l) => l.includes('what went wrong')), JSON.stringify(run.diagnostics));
    });
  }

  it('TAP through bats\' formatter ("# in 12 ms") keeps the name clean; a JUnit report cut short is incomplete', () => {
    const tap = parseTap('1..2\nok 1 web answers # in 12 ms\nnot ok 2 web fails # in 40 ms # timeout after 5 s\n');
    assert.deepEqual(tap.results.map((r) => [r.name, r.ok, r.durationMs]), [['web answers', true, 12], ['web fails', false, 40]]);
    const xml = '<?xml version="1.0"?>\n<testsuites time="0.1">\n<testsuite name="a.bats" tests="2" failures="0">\n    <testcase classname="a.bats" name="one" time="0.05" />\n    <testcase classname="a.bats" name="two" time="0.05" />\n</testsuite>\n</testsuites>\n';
    assert.deepEqual(parseJunit(xml).complete, true);
    assert.equal(parseJunit(xml.replace('</testsuites>\n', '')).complete, false, 'no closing tag');
    assert.equal(parseJunit(xml.replace('tests="2"', 'tests="3"')).complete, false, 'fewer test cases than declared');
  });
});
