// The finish's addon check and the stuck-static-pod recognition, table-driven: CoreDNS at the version kubeadm
// of each minor ships (the same table the lab's kubeadm applies), kube-proxy at the cluster version, tags
// compared (a private imageRepository is fine); kubeadm's "static Pod hash did not change" names pod and node.
import assert from 'node:assert/strict';
import { corednsVersion } from '../../../lab/k8s/kubeadm.js';
import { addonProblems } from '../../../lib/ops/upgrade/index.js';
import { COREDNS_BY_MINOR, corednsImage, kubeProxyImage, stuckStaticPod } from '../../../lib/ops/upgrade/versions.js';

describe('k8s.upgrade finish: addon images and stuck static pods', () => {
  it('knows the CoreDNS version kubeadm of each minor deploys, as the lab applies it', () => {
    assert.equal(corednsImage('1.29.4'), 'registry.k8s.io/coredns/coredns:v1.11.1');
    assert.equal(corednsImage('1.30.14'), 'registry.k8s.io/coredns/coredns:v1.11.1');
    assert.equal(corednsImage('1.31.12'), 'registry.k8s.io/coredns/coredns:v1.11.3');
    assert.equal(corednsImage('1.33.0'), 'registry.k8s.io/coredns/coredns:v1.12.0');
    assert.equal(corednsImage('1.26.1'), undefined, 'no guess below the table');
    for (const minor of Object.keys(COREDNS_BY_MINOR).map(Number)) {
      assert.equal(corednsImage(`1.${minor}.3`), `registry.k8s.io/coredns/coredns:${corednsVersion(`1.${minor}.3`)}`, `1.${minor}: lab and cookbook agree`);
    }
  });

  it('flags an addon whose tag is not the one kubeadm applies at the version, whatever the registry', () => {
    const addons = (proxy?: string, dns?: string) => [
      { name: 'kube-proxy', image: proxy, expected: kubeProxyImage },
      { name: 'coredns', image: dns, expected: corednsImage },
    ];
    assert.deepEqual(addonProblems(addons('registry.k8s.io/kube-proxy:v1.31.12', 'registry.k8s.io/coredns/coredns:v1.11.3'), '1.31.12'), []);
    assert.deepEqual(addonProblems(addons('mirror.example:5000/k8s/kube-proxy:v1.31.12', 'mirror.example:5000/k8s/coredns:v1.11.3'), '1.31.12'), [], 'own imageRepository');
    assert.deepEqual(addonProblems(addons(undefined, undefined), '1.31.12'), [], 'no addon deployed: nothing to check');
    const stale = addonProblems(addons('registry.k8s.io/kube-proxy:v1.30.14', 'registry.k8s.io/coredns/coredns:v1.11.1'), '1.31.12');
    assert.equal(stale.length, 2);
    assert.match(stale[0]!, /^kube-proxy image is registry\.k8s\.io\/kube-proxy:v1\.30\.14, expected registry\.k8s\.io\/kube-proxy:v1\.31\.12/);
    assert.match(stale[1]!, /^coredns image is registry\.k8s\.io\/coredns\/coredns:v1\.11\.1, expected registry\.k8s\.io\/coredns\/coredns:v1\.11\.3/);
  });

  it("recognises kubeadm's stuck static pod with its component and node, and nothing else", () => {
    const text =
      "[upgrade/apply] FATAL: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: failed to obtain static Pod hash for component kube-apiserver on Node cp-1: static Pod hash for component kube-apiserver on Node cp-1 did not change after 5m0s: timed out waiting for the condition";
    assert.deepEqual(stuckStaticPod(text), { component: 'kube-apiserver', node: 'cp-1' });
    assert.equal(stuckStaticPod('\t[ERROR CreateJob]: Job "upgrade-health-check-abcde" in the namespace "kube-system" did not complete in 15s'), undefined);
  });
});
