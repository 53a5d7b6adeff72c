// The lab's per-control-node API endpoints (issue 14): every control node serves the one world's API on its
// own address with the certificate on its own disk, and answers /readyz truthfully through reboots, NotReady,
// reset and re-join, and deletion.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabClient } from '../../../lab/client.js';
import { APISERVER_MANIFEST } from '../../../lab/etcd/config.js';
import { userKubeconfig } from '../../../lab/k8s/index.js';
import { nodeReadyStatus } from '../../../lab/k8s/types.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';
import { getNode, until } from './node-api.js';

describe('lab k8s: one API endpoint per control node', function () {
  this.timeout(60_000);
  let lab: TestLab;
  let client: LabClient;
  const controls = ['labtest-k8s-control-1', 'labtest-k8s-control-2', 'labtest-k8s-control-3'];
  const ep = (name: string) => {
    const e = lab.world.apiserverEndpoint(name);
    assert.ok(e, `${name} has an endpoint`);
    return e;
  };
  const readyz = (name: string) => getNode(ep(name), '/readyz', lab.kube.caPem);
  const diskSerial = (name: string) => new X509Certificate(lab.world.hosts.get(name)!.files.get('/etc/kubernetes/pki/apiserver.crt')!).serialNumber.toUpperCase();

  before(async () => {
    // apiserverStartMs 4000 at speed 40: a node's apiserver is "starting" for 100 ms, long enough to be seen.
    lab = await startTestLab({ control: 3, workers: 1, workersNfs: 0, ingress: 0, etcd: 0, seedWorkload: false, timings: { apiserverStartMs: 4000 } });
    client = new LabClient(lab.info);
    for (const c of controls) await until(`${c} ready`, () => readyz(c), (a) => a.status === 200);
  });

  after(async () => {
    await lab?.stop();
  });

  it('serves the API on each control node address, one port, with the node certificate from its disk, the lab CA and token', async () => {
    const port = lab.world.apiserverPort;
    assert.ok(port && port !== lab.info.ssh.port);
    assert.equal(lab.info.endpoints.apiserverPort, port);
    const serials = new Set<string>();
    for (const c of controls) {
      const e = ep(c);
      assert.equal(e.port, port);
      assert.equal(e.address, lab.world.hosts.get(c)!.address);
      assert.match(lab.world.hosts.get(c)!.files.get(APISERVER_MANIFEST)!, new RegExp(`--secure-port=${port}\\n`), 'its manifest names the port');
      const a = await readyz(c);
      assert.equal(a.status, 200, a.error);
      assert.equal(a.body, 'ok');
      assert.ok(a.sans?.includes(`IP Address:${e.address}`), a.sans);
      assert.equal(a.serial, diskSerial(c));
      assert.deepEqual({ ...lab.kube.endpoints!.served(c), certPem: undefined }, { phase: 'running', address: e.address, port, certPem: undefined, serial: a.serial, notAfter: a.notAfter!.toISOString() });
      serials.add(a.serial!);
      const nodes = await getNode(e, '/api/v1/nodes', lab.kube.caPem, lab.kube.token);
      assert.equal(nodes.status, 200);
      assert.deepEqual((JSON.parse(nodes.body).items as { metadata: { name: string } }[]).map((n) => n.metadata.name).sort(), [...lab.world.hosts.keys()].sort());
      assert.equal((await getNode(e, '/api/v1/nodes', lab.kube.caPem, 'wrong')).status, 401);
    }
    assert.equal(serials.size, 3, 'each node has its own serving certificate');
    const status = await client.status();
    for (const h of status.hosts) assert.deepEqual(h.apiserver, controls.includes(h.name) ? ep(h.name) : undefined, h.name);
    const worker = lab.world.hosts.get('labtest-k8s-worker-1')!;
    assert.equal(lab.world.apiserverEndpoint(worker.name), undefined);
    assert.equal((await getNode({ address: worker.address, port: port! }, '/readyz', lab.kube.caPem)).status, 'refused');
  });

  it('kubectl (Go TLS and x509) verifies a node endpoint\'s certificate against the lab CA and uses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-kubectl-'));
    try {
      const e = ep(controls[0]!);
      writeFileSync(join(dir, 'config'), userKubeconfig(`https://${e.address}:${e.port}`, lab.kube.caPem, lab.kube.token, 'node'), { mode: 0o600 });
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
          execFile('kubectl', ['--kubeconfig', join(dir, 'config'), '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000, env: { ...process.env, HOME: dir } }, (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          ),
        );
      const readyz = await run(['get', '--raw', '/readyz']);
      assert.equal(readyz.code, 0, readyz.stderr);
      assert.equal(readyz.stdout.trim(), 'ok');
      const nodes = await run(['get', 'nodes', '-o', 'name']);
      assert.equal(nodes.code, 0, nodes.stderr);
      assert.ok(nodes.stdout.includes(`node/${controls[1]}`), nodes.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses connections while a control node reboots, fails /readyz and /livez while its apiserver starts, then passes', async () => {
    const name = controls[1]!;
    lab.world.rebootHost(name);
    assert.equal((await readyz(name)).status, 'refused');
    const first = await until('the endpoint to accept again', () => readyz(name), (a) => a.status !== 'refused');
    assert.equal(first.status, 500, 'not ready at once after the boot');
    assert.match(first.body, /\[-\].* failed: reason withheld\nreadyz check failed/);
    await until('readyz 200', () => readyz(name), (a) => a.status === 200);
    assert.equal((await getNode(ep(name), '/livez', lab.kube.caPem)).status, 200);
  });

  it('fails /readyz while its Node is NotReady', async () => {
    const name = controls[0]!;
    const nodes = lab.kube.api.res('', 'nodes');
    const setReady = (status: string) =>
      lab.kube.api.mutate(nodes, undefined, name, (n) => {
        n.status.conditions = n.status.conditions.map((c: { type: string }) => (c.type === 'Ready' ? { ...c, status } : c));
      });
    setReady('Unknown');
    try {
      const a = await readyz(name);
      assert.equal(a.status, 500);
      assert.match(a.body, /\[-\]lab-node-ready failed/);
      assert.equal((await readyz(controls[2]!)).status, 200, 'the other nodes stay ready');
    } finally {
      setReady('True');
    }
    assert.equal(nodeReadyStatus(lab.kube.store.get(nodes, undefined, name)!), 'True');
    assert.equal((await readyz(name)).status, 200);
  });

  it('closes the endpoint on kubeadm reset and opens it again, with a new certificate, when the node re-joins as control plane', async () => {
    const name = controls[2]!;
    const before = (await readyz(name)).serial;
    const reset = await client.exec(name, 'kubeadm reset -f');
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal((await readyz(name)).status, 'refused');
    assert.equal(lab.world.hosts.get(name)!.files.get('/etc/kubernetes/pki/apiserver.crt'), undefined);
    const join = (await client.exec(controls[0]!, 'kubeadm token create --print-join-command')).stdout.trim();
    const key = /key:\n([0-9a-f]{64})/.exec((await client.exec(controls[0]!, 'kubeadm init phase upload-certs --upload-certs')).stdout)![1];
    const r = await client.exec(name, `${join} --control-plane --certificate-key ${key}`);
    assert.equal(r.code, 0, r.stderr);
    const back = await until('the re-joined node ready', () => readyz(name), (a) => a.status === 200);
    assert.notEqual(back.serial, before);
    assert.equal(back.serial, diskSerial(name));
    assert.match(lab.world.hosts.get(name)!.files.get(APISERVER_MANIFEST)!, new RegExp(`--secure-port=${lab.world.apiserverPort}\\n`));
  });

  it('a load balancer VM created later: every apiserver serves a certificate with its address as a SAN, same validity', async () => {
    const before = await Promise.all(controls.map(readyz));
    const cloud = lab.openstack.cloud;
    const lb = 'labtest-k8s-lb-1';
    await cloud.createServer({ name: lb, flavorRef: 'lab.small', imageRef: cloud.images.find((i) => i.name === 'debian-12-bookworm')!.id, networks: [{ uuid: cloud.networks[0]!.id }] });
    const address = (await until('the LB host', () => lab.world.hosts.get(lb), (h) => h !== undefined))!.address;
    for (const [i, c] of controls.entries()) {
      const now = await readyz(c);
      assert.ok(now.sans?.includes(`IP Address:${address}`), `${c}: ${now.sans}`);
      assert.notEqual(now.serial, before[i]!.serial);
      assert.equal(now.serial, diskSerial(c));
      assert.equal(now.notAfter!.getTime(), before[i]!.notAfter!.getTime());
    }
  });

  it('a kube-apiserver whose manifest moves out answers the request in flight, then refuses new connections', async () => {
    const name = controls[0]!;
    const pods = lab.kube.api.res('', 'pods');
    lab.kube.api.create(pods, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evict-me', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'registry.lab/c:1' }] } }, { internal: true });
    lab.world.faults = { slowEvictionMs: 400 };
    try {
      const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evict-me', namespace: 'default' } });
      const inFlight = new Promise<number | string>((resolve) => {
        const req = httpsRequest(
          { host: ep(name).address, port: ep(name).port, method: 'POST', path: '/api/v1/namespaces/default/pods/evict-me/eviction', ca: lab.kube.caPem, agent: false, headers: { authorization: `Bearer ${lab.kube.token}`, 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', (err) => resolve(String(err)));
        req.end(body);
      });
      await new Promise((r) => setTimeout(r, 50)); // the request is being served (400 ms)
      const mv = await client.exec(name, 'mv /etc/kubernetes/manifests/kube-apiserver.yaml /root/');
      assert.equal(mv.code, 0, mv.stderr);
      await until('the kubelet to stop kube-apiserver', () => readyz(name), (a) => a.status === 'refused', 5000);
      assert.equal(await inFlight, 201, 'the eviction in flight was answered');
    } finally {
      lab.world.faults = {};
      await client.exec(name, 'mv /root/kube-apiserver.yaml /etc/kubernetes/manifests/');
    }
    await until(`${name} ready again`, () => readyz(name), (a) => a.status === 200);
  });

  it('closes the endpoint of a deleted VM', async () => {
    const name = controls[1]!;
    const e = ep(name);
    assert.equal((await getNode(e, '/readyz', lab.kube.caPem)).status, 200);
    lab.openstack.cloud.deleteServer(lab.world.hosts.get(name)!.serverId!);
    await until('the host gone', () => lab.world.hosts.has(name), (has) => !has);
    assert.equal((await getNode(e, '/readyz', lab.kube.caPem)).status, 'refused');
    assert.equal(lab.world.apiserverEndpoint(name), undefined);
  });
});
