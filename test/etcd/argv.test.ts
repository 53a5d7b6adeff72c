// etcdctl command lines with the inventory's etcd.tls: paths of the CA, client certificate and key on the member
// hosts become --cacert/--cert/--key (never file content); the inventory refuses TLS over http endpoints,
// relative paths, and a certificate without its key.
import { strict as assert } from 'node:assert';
import { mutateArgv, readArgv, tlsFlags } from '../../lib/etcd/argv.js';
import { clusterSchema } from '../../lib/inventory/schema.js';

const base = {
  name: 'tb',
  prefix: 'tb-k8s',
  openstack: { cloud: 'c', project: 'p' },
  kubernetes: { apiServer: 'https://k8s.example.org:6443' },
  roles: { etcd: { prefix: 'etcd', flavor: 'f', image: 'i', network: 'n', node: 'none' } },
};
const tls = { cacert: '/etc/etcd/pki/ca.crt', cert: '/etc/etcd/pki/client.crt', key: '/etc/etcd/pki/client.key' };

describe('etcdctl arguments and etcd.tls', () => {
  it('passes the TLS files as paths, after the endpoints and deadlines, on reads and changes', () => {
    assert.deepEqual(tlsFlags(undefined), []);
    assert.deepEqual(tlsFlags({ cacert: '/ca.pem' }), ['--cacert=/ca.pem'], 'server TLS only: the CA, no client certificate');
    assert.deepEqual(readArgv(['-w', 'json', 'member', 'list'], ['https://10.0.0.1:2379'], tls), [
      'etcdctl', '--endpoints=https://10.0.0.1:2379', '--dial-timeout=1s', '--command-timeout=1500ms',
      '--cacert=/etc/etcd/pki/ca.crt', '--cert=/etc/etcd/pki/client.crt', '--key=/etc/etcd/pki/client.key', '-w', 'json', 'member', 'list',
    ]);
    assert.deepEqual(readArgv(['endpoint', 'health'], undefined, undefined), ['etcdctl', '--dial-timeout=1s', '--command-timeout=1500ms', 'endpoint', 'health'], 'no TLS: as before');
    assert.deepEqual(mutateArgv(['member', 'remove', 'abc'], ['https://a:2379', 'https://b:2379'], tls), [
      'etcdctl', 'member', 'remove', 'abc', '--endpoints=https://a:2379,https://b:2379', '--dial-timeout=2s', '--command-timeout=30s',
      '--cacert=/etc/etcd/pki/ca.crt', '--cert=/etc/etcd/pki/client.crt', '--key=/etc/etcd/pki/client.key',
    ]);
  });

  it('the inventory takes etcd.tls with https endpoints and absolute paths, and refuses anything else with its path', () => {
    const parsed = clusterSchema.parse({ ...base, etcd: { endpoints: ['https://10.0.0.1:2379'], tls } });
    assert.deepEqual(parsed.etcd?.tls, tls);
    const rows: [unknown, RegExp][] = [
      [{ endpoints: ['http://10.0.0.1:2379'], tls }, /etcd\.endpoints: with etcd\.tls every endpoint is https/],
      [{ endpoints: ['https://10.0.0.1:2379'], tls: { ...tls, key: 'pki/client.key' } }, /etcd\.tls\.key: an absolute path on the member hosts/],
      [{ endpoints: ['https://10.0.0.1:2379'], tls: { cacert: tls.cacert, cert: tls.cert } }, /etcd\.tls: give cert and key together/],
      [{ endpoints: ['https://10.0.0.1:2379'], tls: { ...tls, keyData: 'x' } }, /etcd\.tls: .*keyData/],
    ];
    for (const [etcd, why] of rows) {
      const r = clusterSchema.safeParse({ ...base, etcd });
      assert.equal(r.success, false, JSON.stringify(etcd));
      const text = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}${'keys' in i ? ` ${(i as { keys: string[] }).keys.join(',')}` : ''}`).join('\n');
      assert.match(text, why);
    }
  });
});
