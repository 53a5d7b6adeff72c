// The lab's kubeadm certificates (issue 14): check-expiration read from the files on a control node (kubeadm's
// table and, on kubeadm >= 1.30, its JSON/YAML), the test hook that makes a certificate expire in N days, and
// the kubeadm trap the lab must model: renewal changes the files, only a static pod restart the served cert.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { LabClient } from '../../../lab/client.js';
import { LabError } from '../../../lib/core/errors.js';
import { parseCertExpiry } from '../../../lib/ops/upgrade/preflight.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { getNode, until } from './node-api.js';

const NAMES = ['admin.conf', 'apiserver', 'apiserver-etcd-client', 'apiserver-kubelet-client', 'controller-manager.conf', 'front-proxy-client', 'scheduler.conf', 'super-admin.conf'];
const DONE = 'Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.';

describe('lab k8s: kubeadm certificates on control nodes', function () {
  this.timeout(60_000);
  let lab: TestLab;
  let client: LabClient;
  const cp = 'labtest-k8s-control-1';
  const crt = (name = cp) => new X509Certificate(lab.world.hosts.get(name)!.files.get('/etc/kubernetes/pki/apiserver.crt')!);
  const readyz = () => getNode(lab.world.apiserverEndpoint(cp)!, '/readyz', lab.kube.caPem);
  const run = async (command: string, host = cp) => {
    const r = await client.exec(host, command);
    assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    return r.stdout;
  };
  const mirrorPod = () => lab.kube.store.get(lab.kube.api.res('', 'pods'), 'kube-system', `kube-apiserver-${cp}`);

  before(async () => {
    lab = await startTestLab({ kubernetesVersion: '1.30.2', control: 2, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, seedWorkload: false, timings: { apiserverStartMs: 4000 } });
    client = new LabClient(lab.info);
    await until('control-1 ready', readyz, (a) => a.status === 200);
  });

  after(async () => {
    await lab?.stop();
  });

  it('check-expiration prints kubeadm\'s table from the certificate files', async () => {
    const out = await run('kubeadm certs check-expiration');
    const rows = parseCertExpiry(out);
    assert.deepEqual(rows.map((r) => r.name), [...NAMES, 'ca', 'etcd-ca', 'front-proxy-ca']);
    const notAfter = new Date(crt().validTo).getTime();
    assert.equal(rows.find((r) => r.name === 'apiserver')!.expires, notAfter - (notAfter % 60_000), 'EXPIRES is the file\'s NotAfter (to the minute)');
    assert.match(out, /^apiserver\s+\w{3} \d{2}, \d{4} \d{2}:\d{2} UTC\s+364d\s+ca\s+no$/m);
    assert.match(out, /^etcd-ca\s+.*\s+9y\s+yes$/m);
  });

  it('check-expiration -o json|yaml has kubeadm\'s CertificateExpirationInfo shape; kubeadm before 1.30 has no -o', async () => {
    const doc = JSON.parse(await run('kubeadm certs check-expiration -o json'));
    assert.equal(doc.kind, 'CertificateExpirationInfo');
    assert.equal(doc.apiVersion, 'output.kubeadm.k8s.io/v1alpha3');
    assert.deepEqual(doc.certificates.map((c: { name: string }) => c.name), NAMES);
    const api = doc.certificates.find((c: { name: string }) => c.name === 'apiserver');
    assert.equal(api.expirationDate, new Date(crt().validTo).toISOString().replace('.000Z', 'Z'));
    assert.equal(api.caName, 'ca');
    assert.equal(api.missing, false);
    assert.equal(api.externallyManaged, false);
    assert.ok(Math.abs(api.residualTime - (Date.parse(api.expirationDate) - Date.now()) / 1000) < 60, `residualTime ${api.residualTime} in seconds`);
    assert.deepEqual(doc.certificateAuthorities.map((c: { name: string; caName?: string }) => [c.name, c.caName]), [['ca', undefined], ['etcd-ca', undefined], ['front-proxy-ca', undefined]]);
    const yaml = parseYaml(await run('kubeadm certs check-expiration -o yaml'));
    assert.deepEqual(yaml.certificates.map((c: { expirationDate: string }) => c.expirationDate), doc.certificates.map((c: { expirationDate: string }) => c.expirationDate));
    const host = lab.world.hosts.get(cp)!;
    host.packages.set('kubeadm', '1.29.4-1.1');
    try {
      const old = await client.exec(cp, 'kubeadm certs check-expiration -o json');
      assert.equal(old.code, 1);
      assert.match(old.stderr, /unknown shorthand flag: 'o' in -o/);
    } finally {
      host.packages.set('kubeadm', '1.30.2-1.1');
    }
  });

  it('the certs hook makes the apiserver certificate expire in 10 days, on disk and as served', async () => {
    const [issued] = await client.certs(cp, { name: 'apiserver', expiresInDays: 10 });
    assert.equal(issued!.name, 'apiserver');
    assert.ok(Math.abs(Date.parse(issued!.notAfter) - (Date.now() + 10 * 86400_000)) < 60_000);
    assert.equal(crt().serialNumber.toUpperCase(), issued!.serial);
    const served = await readyz();
    assert.equal(served.serial, issued!.serial);
    assert.equal(served.notAfter!.getTime(), Date.parse(issued!.notAfter));
    assert.match(await run('kubeadm certs check-expiration'), /^apiserver\s+.*\s+9d\s+ca\s+no$/m);
    await assert.rejects(client.certs(cp, { name: 'apiserverr', expiresInDays: 10 }), (e: unknown) => e instanceof LabError && /unknown certificate "apiserverr"/.test(e.message));
    await assert.rejects(client.certs('labtest-k8s-worker-1', { name: 'apiserver', expiresInDays: 10 }), /not a control-plane node/);
  });

  it('renew rewrites the files only; the served certificate changes when the kube-apiserver static pod restarts', async () => {
    const old = (await readyz()).serial!;
    const out = await run('kubeadm certs renew all');
    assert.ok(out.includes('certificate for serving the Kubernetes API renewed'), out);
    assert.ok(out.trimEnd().endsWith(DONE), out);
    const renewed = crt();
    assert.notEqual(renewed.serialNumber.toUpperCase(), old);
    assert.ok(Date.parse(renewed.validTo) > Date.now() + 364 * 86400_000);
    assert.equal((await readyz()).serial, old, 'still the old certificate: no restart yet');

    await run('mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/kube-apiserver.yaml');
    await until('the kubelet to stop kube-apiserver', readyz, (a) => a.status === 'refused');
    assert.equal(mirrorPod(), undefined, 'its mirror pod is gone while it is stopped');
    await run('mv /etc/kubernetes/kube-apiserver.yaml /etc/kubernetes/manifests/kube-apiserver.yaml');
    const first = await until('kube-apiserver to start', readyz, (a) => a.status !== 'refused');
    assert.equal(first.status, 500, 'starting');
    assert.equal(first.serial, renewed.serialNumber.toUpperCase());
    await until('readyz 200', readyz, (a) => a.status === 200);
    await until('the mirror pod back', () => mirrorPod(), (p) => p !== undefined);
    assert.match(await run('kubeadm certs check-expiration'), /^apiserver\s+.*\s+364d\s+ca\s+no$/m);
  });

  it('kubeadm upgrade node renews the certificates and restarts the static pods: the renewed one is served', async () => {
    const node = 'labtest-k8s-control-2';
    const own = () => getNode(lab.world.apiserverEndpoint(node)!, '/readyz', lab.kube.caPem);
    await client.certs(node, { name: 'all', expiresInDays: 20 });
    const before = (await own()).serial;
    assert.equal(before, crt(node).serialNumber.toUpperCase());
    await run('kubeadm upgrade node', node);
    const renewed = crt(node).serialNumber.toUpperCase();
    assert.notEqual(renewed, before);
    const served = await until(`${node} serving again`, own, (a) => a.status === 200);
    assert.equal(served.serial, renewed);
    assert.match(await run('kubeadm certs check-expiration', node), /^admin\.conf\s+.*\s+364d\s+ca\s+no$/m);
  });

  it('the apiserverCrashLoop fault: a restarted kube-apiserver does not come back until the fault is cleared', async () => {
    await client.patchFaults({ apiserverCrashLoop: [cp] });
    try {
      assert.equal((await readyz()).status, 200, 'a running apiserver is not affected');
      await run('mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/kube-apiserver.yaml');
      await until('the kubelet to stop kube-apiserver', readyz, (a) => a.status === 'refused');
      await run('mv /etc/kubernetes/kube-apiserver.yaml /etc/kubernetes/manifests/kube-apiserver.yaml');
      await until('a failed start', () => lab.kube.endpoints!.problem(cp) ?? '', (p) => /apiserverCrashLoop/.test(p));
      assert.equal((await readyz()).status, 'refused');
      assert.equal(mirrorPod(), undefined);
    } finally {
      await client.patchFaults({ apiserverCrashLoop: null });
    }
    await until('readyz 200 once the fault is gone', readyz, (a) => a.status === 200);
    assert.equal(lab.kube.endpoints!.problem(cp), undefined);
  });
});
