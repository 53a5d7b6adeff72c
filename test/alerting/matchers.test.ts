import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import {
  escapeRegex,
  formatMatcher,
  hostMatchers,
  matchesLabels,
  parseMatcher,
  parseMatchers,
  sameMatchers,
} from '../../lib/alerting/matchers.js';

describe('alerting matchers', () => {
  it('parses the four operators', () => {
    assert.deepEqual(parseMatcher('alertname=NodeDown'), { name: 'alertname', value: 'NodeDown', isRegex: false, isEqual: true });
    assert.deepEqual(parseMatcher('severity!=info'), { name: 'severity', value: 'info', isRegex: false, isEqual: false });
    assert.deepEqual(parseMatcher('instance=~"tools-k8s-worker-1(:.*)?"'), {
      name: 'instance',
      value: 'tools-k8s-worker-1(:.*)?',
      isRegex: true,
      isEqual: true,
    });
    assert.deepEqual(parseMatcher('job !~ "node|blackbox"'), { name: 'job', value: 'node|blackbox', isRegex: true, isEqual: false });
  });

  it('keeps escapes and commas inside quoted values', () => {
    const list = parseMatchers('{alertname="A,B", summary="say \\"hi\\"", x=~"a\\\\d"}');
    assert.equal(list.length, 3);
    assert.equal(list[0]!.value, 'A,B');
    assert.equal(list[1]!.value, 'say "hi"');
    assert.equal(list[2]!.value, 'a\\d');
  });

  it('accepts arrays of strings and comma lists alike', () => {
    assert.ok(sameMatchers(parseMatchers(['a=b', 'c!=d']), parseMatchers('c!=d,a=b')));
  });

  it('rejects malformed input with InputError', () => {
    assert.throws(() => parseMatcher('1abc=x'), InputError);
    assert.throws(() => parseMatcher('just-text'), InputError);
    assert.throws(() => parseMatcher('a=~"(unclosed"'), InputError);
    assert.throws(() => parseMatcher('a="no end'), InputError);
    assert.throws(() => parseMatchers(''), InputError);
  });

  it('formats matchers in Alertmanager filter syntax and round-trips', () => {
    for (const text of ['a="b"', 'instance=~"h1(:\\\\d+)?"', 'x!="q\\"uote"', 'y!~"a|b"']) {
      assert.equal(formatMatcher(parseMatcher(text)), text);
    }
  });

  it('builds host matchers that match the host with any port, and not a longer name', () => {
    const [m] = hostMatchers('tools-k8s-worker-1');
    assert.equal(formatMatcher(m!), 'instance=~"tools-k8s-worker-1(:\\\\d+)?"');
    assert.ok(matchesLabels([m!], { instance: 'tools-k8s-worker-1:9100' }));
    assert.ok(matchesLabels([m!], { instance: 'tools-k8s-worker-1' }));
    assert.ok(!matchesLabels([m!], { instance: 'tools-k8s-worker-10:9100' }));
    // Dots in FQDNs are literal: "a.b" must not match "axb".
    const [fq] = hostMatchers('h1', { domain: 'eqiad.wmnet' });
    assert.ok(matchesLabels([fq!], { instance: 'h1.eqiad.wmnet:9100' }));
    assert.ok(!matchesLabels([fq!], { instance: 'h1xeqiadxwmnet:9100' }));
    assert.deepEqual(hostMatchers('h1', { by: 'host' }), [{ name: 'host', value: 'h1', isRegex: false, isEqual: true }]);
    assert.throws(() => hostMatchers('bad host;rm'), InputError);
  });

  it('evaluates like Alertmanager: anchored regexes, missing labels are empty', () => {
    assert.ok(!matchesLabels(parseMatchers('job=~"node"'), { job: 'node-exporter' }));
    assert.ok(matchesLabels(parseMatchers('team!="x"'), {}));
    assert.ok(matchesLabels(parseMatchers('team=""'), {}));
    assert.ok(!matchesLabels(parseMatchers('a=b,c=d'), { a: 'b', c: 'e' }));
  });

  it('escapes regex metacharacters', () => {
    assert.equal(escapeRegex('a.b*c(d)'), 'a\\.b\\*c\\(d\\)');
  });
});
