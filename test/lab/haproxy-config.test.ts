// lab/haproxy/config.ts: the host's haproxy.cfg becomes the real file the lab's haproxy reads (paths mapped into
// the host's lab directory, addresses kept on the host and on 127.0.0.0/8), or the reason it cannot run.
import { strict as assert } from 'node:assert';
import { ADMIN_SOCKET, MANAGED_BEGIN, MANAGED_END, type RealConfig, mappedName, realConfig, renderHaproxyConfig } from '../../lab/haproxy/config.js';

const HOST = '127.50.0.9';
const DIR = '/state/haproxy/lb-1';
const resolve = (name: string): string | undefined => ({ 'c-control-1': '127.50.0.1', 'c-control-1.lab.internal': '127.50.0.1' })[name];
const translate = (text: string): RealConfig | string => realConfig(text, { hostDir: DIR, address: HOST, resolve });
const wrap = (global: string[], frontend: string[], backend: string[]): string =>
  ['global', ...global.map((l) => `    ${l}`), 'defaults', '    mode tcp', 'frontend f', ...frontend.map((l) => `    ${l}`), '    default_backend b', 'backend b', ...backend.map((l) => `    ${l}`), ''].join('\n');

describe('lab/haproxy config translation', () => {
  it('the provisioned config: admin socket relative to the host dir, state file mapped, bind kept, servers listed in the managed block', () => {
    const text = renderHaproxyConfig({ bindAddress: HOST, port: 6443, backends: [{ name: 'c-control-1', address: '127.50.0.1', port: 6443 }] });
    assert.ok(text.includes(`    ${MANAGED_BEGIN}\n    server c-control-1 127.50.0.1:6443\n    ${MANAGED_END}\n`));
    const real = translate(text) as RealConfig;
    assert.equal(typeof real, 'object', String(real));
    assert.deepEqual(real.sockets, [ADMIN_SOCKET]);
    assert.equal(real.socketNames.get(ADMIN_SOCKET), 'run_haproxy_admin.sock');
    assert.match(real.text, /^ {4}stats socket unix@run_haproxy_admin\.sock mode 660 level admin expose-fd listeners$/m);
    assert.equal(real.stateFile, '/var/lib/haproxy/server-state');
    assert.match(real.text, new RegExp(`^ {4}server-state-file ${DIR}/var_lib_haproxy_server-state$`, 'm'));
    assert.deepEqual(real.binds, [{ address: HOST, port: 6443 }]);
  });

  const rows: [string, string, RegExp][] = [
    ['a wildcard bind means the host address', wrap([], ['bind *:6443'], []), /^ {4}bind 127\.50\.0\.9:6443$/m],
    ['a bind on :PORT means the host address', wrap([], ['bind :443 name x'], []), /^ {4}bind 127\.50\.0\.9:443 name x$/m],
    ['a server named by host name (or FQDN) gets its lab address', wrap([], ['bind *:1'], ['server a c-control-1.lab.internal:6443 check']), /^ {4}server a 127\.50\.0\.1:6443 check$/m],
    ['daemon, chroot, user, group, log and pidfile are left out (the lab runs it in the foreground)', wrap(['daemon', 'chroot /var/lib/haproxy', 'user haproxy', 'group haproxy', 'log /dev/log local0', 'pidfile /run/haproxy.pid'], ['bind *:1'], []), /^(?!.*\n {4}(daemon|chroot|user|group|log|pidfile)\b)/s],
  ];
  for (const [title, text, expected] of rows) {
    it(title, () => {
      const real = translate(text);
      assert.equal(typeof real, 'object', String(real));
      assert.match((real as RealConfig).text, expected);
    });
  }

  const refusals: [string, string, RegExp][] = [
    ["a bind on another host's address", wrap([], ['bind 127.50.0.1:6443'], []), /line 5: bind 127\.50\.0\.1:6443: cannot bind socket .*127\.50\.0\.1 is not this host's address 127\.50\.0\.9/],
    ['a server off 127.0.0.0/8', wrap([], ['bind *:1'], ['server x 10.0.0.1:6443']), /server x: 10\.0\.0\.1 is outside 127\.0\.0\.0\/8/],
    ['a server name nothing resolves', wrap([], ['bind *:1'], ['server x nowhere:6443']), /server x: could not resolve address 'nowhere'/],
    ['a TCP stats socket on another address', wrap(['stats socket ipv4@127.0.0.1:9999 level admin'], ['bind *:1'], []), /stats socket ipv4@127\.0\.0\.1:9999: 127\.0\.0\.1 is not this host's address/],
  ];
  for (const [title, text, expected] of refusals) {
    it(`refuses ${title}`, () => {
      const real = translate(text);
      assert.equal(typeof real, 'string');
      assert.match(real as string, expected);
    });
  }

  it('maps host paths to flat names', () => {
    assert.equal(mappedName('/run/haproxy/admin.sock'), 'run_haproxy_admin.sock');
    assert.equal(mappedName('//var//lib/haproxy/server-state'), 'var_lib_haproxy_server-state');
  });
});
