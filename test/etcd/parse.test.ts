// Pure parts of lib/etcd: etcdctl's JSON (uint64 ids kept exact), quorum arithmetic, member URLs and the
// apiserver / kubeadm configuration edits.
import { strict as assert } from 'node:assert';
import { etcdServersOf, kubeadmEndpointsOf, withEtcdServers, withKubeadmEndpoints } from '../../lib/etcd/apiservers.js';
import { failureTolerance, hexId, parseEndpointStatus, parseMemberAdd, parseMemberList, quorumOf, removalKeepsQuorum, urlFor } from '../../lib/etcd/parse.js';

describe('etcd: parsing etcdctl output and quorum arithmetic', () => {
  it('keeps uint64 member ids exact and shows them in hex as etcdctl takes them', () => {
    const text = '{"header":{"cluster_id":6873454700138838658,"member_id":12939384680386960365},"members":[{"ID":12939384680386960365,"name":"a","peerURLs":["http://127.0.0.5:2380"],"clientURLs":["http://127.0.0.5:2379"],"isLearner":true},{"ID":8664721099823524798,"peerURLs":["http://127.0.0.6:2380"]}]}';
    const members = parseMemberList(text);
    // JSON.parse would round this id to 12939384680386959360 (hex b391edcf9e989800).
    assert.equal(members[0]!.id, 'b391edcf9e989bed', 'no float rounding of the id');
    assert.equal(hexId('12939384680386960365'), 'b391edcf9e989bed');
    assert.equal(members[0]!.isLearner, true);
    assert.deepEqual({ name: members[1]!.name, clientUrls: members[1]!.clientUrls }, { name: '', clientUrls: [] }, 'a member that never started has no name or client URL');
  });

  it('reads endpoint status (leader, raft index, DB size, alarms)', () => {
    const text = '[{"Endpoint":"http://e1","Status":{"header":{"member_id":2898691169691173594,"revision":7},"version":"3.4.23","dbSize":20480,"leader":164332447800688357,"raftIndex":11,"raftTerm":2,"errors":["NOSPACE"]}}]';
    const [s] = parseEndpointStatus(text);
    assert.deepEqual({ leader: s!.leaderId, index: s!.raftIndex, db: s!.dbSize, rev: s!.revision, errors: s!.errors }, { leader: hexId('164332447800688357'), index: 11, db: 20480, rev: 7, errors: ['NOSPACE'] });
  });

  it('reads what member add printed', () => {
    const out = 'Member 2e75876a96162c1d added to cluster 5f3a\n\nETCD_NAME="n4"\nETCD_INITIAL_CLUSTER="n1=http://a:2380,n4=http://d:2380"\nETCD_INITIAL_ADVERTISE_PEER_URLS="http://d:2380"\nETCD_INITIAL_CLUSTER_STATE="existing"\n';
    assert.deepEqual(parseMemberAdd(out), { ETCD_NAME: 'n4', ETCD_INITIAL_CLUSTER: 'n1=http://a:2380,n4=http://d:2380', ETCD_INITIAL_ADVERTISE_PEER_URLS: 'http://d:2380', ETCD_INITIAL_CLUSTER_STATE: 'existing', MEMBER_ID: '2e75876a96162c1d' });
  });

  it('quorum and tolerance follow etcd: 1->0, 2->0, 3->1, 4->1, 5->2', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => failureTolerance(n, n)), [0, 0, 1, 1, 2]);
    assert.deepEqual([1, 2, 3, 4, 5].map(quorumOf), [1, 2, 2, 3, 3]);
  });

  it('a removal must keep what the cluster survives today minus one', () => {
    assert.equal(removalKeepsQuorum(3, 3, true).ok, true, '3 healthy: remove one');
    assert.equal(removalKeepsQuorum(3, 2, true).ok, false, 'another member down: refuse');
    assert.equal(removalKeepsQuorum(3, 2, false).ok, true, 'the dead member itself: fine');
    assert.equal(removalKeepsQuorum(4, 4, true).ok, true);
    assert.equal(removalKeepsQuorum(5, 4, true).ok, true, '5 with one down survives one more after');
    assert.equal(removalKeepsQuorum(1, 1, true).ok, false, 'never the last member');
  });

  it('new member URLs take scheme and port from a member; config edits keep the rest', () => {
    assert.equal(urlFor('https://tools-etcd-22.example.org:2380', 'tools-etcd-25.example.org'), 'https://tools-etcd-25.example.org:2380');
    const manifest = 'spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --etcd-servers=http://a:2379,http://b:2379\n    - --secure-port=6443\n';
    assert.deepEqual(etcdServersOf(withEtcdServers(manifest, ['http://b:2379', 'http://c:2379'])), ['http://b:2379', 'http://c:2379']);
    assert.match(withEtcdServers(manifest, ['x']), /--secure-port=6443/);
    const cc = 'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n# keep me\netcd:\n  external:\n    endpoints: []\n';
    const edited = withKubeadmEndpoints(cc, ['http://a:2379']);
    assert.deepEqual(kubeadmEndpointsOf(edited), ['http://a:2379']);
    assert.match(edited, /# keep me/);
  });
});
