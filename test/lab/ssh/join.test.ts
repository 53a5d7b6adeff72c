import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabClient } from '../../../lab/client.js';
import { type LabHandle, startLab } from '../../../lab/index.js';
import { nodeReadyStatus } from '../../../lab/k8s/types.js';

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('lab hosts with the lab Kubernetes API (kubeadm over SSH)', function () {
  this.timeout(60000);
  let lab: LabHandle;
  let dir: string;
  let client: LabClient;

  const node = (name: string) => lab.kube.store.get(lab.kube.api.res('', 'nodes'), undefined, name);
  const ready = (name: string): boolean => {
    const n = node(name);
    return !!n && nodeReadyStatus(n) === 'True';
  };

  async function newVm(name: string): Promise<void> {
    const cloud = lab.openstack.cloud;
    const rec = await cloud.createServer({
      name,
      flavorRef: 'lab.small',
      imageRef: cloud.images.find((i) => i.name === 'debian-12-bookworm')!.id,
      networks: [{ uuid: cloud.networks[0]!.id }],
    });
    await waitFor(`${name} ACTIVE`, () => cloud.status(rec) === 'ACTIVE' && lab.ssh.isListening(name));
    const r = await client.ssh(name, 'DEBIAN_FRONTEND=noninteractive apt-get install -y containerd kubeadm=1.29.4-1.1 kubelet=1.29.4-1.1 && apt-mark hold kubeadm kubelet');
    assert.equal(r.code, 0, r.stderr);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-join-'));
    lab = await startLab({ stateDir: dir, speed: 50, control: 1, workers: 1, workersNfs: 0, ingress: 1, etcd: 0 });
    client = new LabClient(lab.info);
  });

  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('initial nodes exist as Ready Nodes', () => {
    for (const name of ['local-k8s-control-1', 'local-k8s-worker-1', 'local-k8s-ingress-1']) assert.equal(nodeReadyStatus(node(name)!), 'True', name);
  });

  it('a new VM joins as a worker with a token printed by a control-plane node', async () => {
    await newVm('local-k8s-worker-2');
    assert.equal(node('local-k8s-worker-2'), undefined);
    const token = await client.ssh('local-k8s-control-1', 'sudo kubeadm token create --print-join-command --ttl 1h');
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^kubeadm join 127\.0\.0\.1:\d+ --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64} \n$/);
    const bad = await client.ssh('local-k8s-worker-2', token.stdout.replace(/--token \S+/, '--token aaaaaa.bbbbbbbbbbbbbbbb'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /could not find a JWS signature/);
    const r = await client.ssh('local-k8s-worker-2', `sudo ${token.stdout.trim()}`);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('worker-2 Ready', () => ready('local-k8s-worker-2'));
    assert.equal(node('local-k8s-worker-2')!.status.nodeInfo.kubeletVersion, 'v1.29.4');
  });

  it('a new VM joins as a control plane with a certificate key from an uploaded JoinConfiguration', async () => {
    await newVm('local-k8s-control-2');
    const join = (await client.ssh('local-k8s-control-1', 'kubeadm token create --print-join-command')).stdout;
    const certs = await client.ssh('local-k8s-control-1', 'kubeadm init phase upload-certs --upload-certs');
    const key = certs.stdout.trim().split('\n').at(-1)!;
    assert.match(key, /^[0-9a-f]{64}$/);
    const [, endpoint, token, hash] = /join (\S+) --token (\S+) --discovery-token-ca-cert-hash (\S+)/.exec(join)!;
    const config = [
      'apiVersion: kubeadm.k8s.io/v1beta3',
      'kind: JoinConfiguration',
      'discovery:',
      '  bootstrapToken:',
      `    apiServerEndpoint: ${endpoint}`,
      `    token: ${token}`,
      `    caCertHashes: ["${hash}"]`,
      'controlPlane:',
      `  certificateKey: ${key}`,
      '',
    ].join('\n');
    const upload = await client.ssh('local-k8s-control-2', 'umask 077 && cat > /root/join.yaml', { stdin: config });
    assert.equal(upload.code, 0, upload.stderr);
    const detail = await client.host('local-k8s-control-2');
    assert.equal(detail.files['/root/join.yaml']?.mode, '600');
    const r = await client.ssh('local-k8s-control-2', 'kubeadm join --config /root/join.yaml && rm -f /root/join.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /a new control plane instance was created/);
    await waitFor('control-2 Ready', () => ready('local-k8s-control-2'));
    assert.ok(Object.keys(node('local-k8s-control-2')!.metadata.labels ?? {}).includes('node-role.kubernetes.io/control-plane'));
  });

  it('a reboot over SSH takes the Node NotReady and back with the host’s new boot id', async () => {
    const host = lab.world.hosts.get('local-k8s-worker-1')!;
    const before = host.bootId;
    const r = await client.ssh('local-k8s-worker-1', 'sudo systemctl reboot');
    assert.equal(r.code, 0);
    await waitFor('host down', () => host.state === 'rebooting');
    await waitFor('host up', () => host.state === 'up');
    assert.notEqual(host.bootId, before);
    await waitFor('node Ready with the new boot id', () => {
      return ready('local-k8s-worker-1') && node('local-k8s-worker-1')!.status.nodeInfo.bootID === host.bootId;
    });
  });

  it('kubeadm reset takes the host out; a deleted server leaves its Node for the Kubernetes side', async () => {
    const r = await client.ssh('local-k8s-worker-2', 'kubeadm reset -f');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lab.world.hosts.get('local-k8s-worker-2')!.kubelet.joined, false);
    const rec = [...lab.openstack.cloud.servers.values()].find((s) => s.name === 'local-k8s-worker-2')!;
    lab.openstack.cloud.deleteServer(rec.id);
    assert.equal(lab.world.hosts.has('local-k8s-worker-2'), false);
    assert.ok(node('local-k8s-worker-2'), 'the Node object stays until someone deletes it');
  });
});
