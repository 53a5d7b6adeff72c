// Shared fixtures for the SSH-side lab tests: a world with the local cluster's roles and a recording kubeadm
// backend standing in for the Kubernetes side (the real one lives in lab/k8s and is tested there).
import type { KubeadmBackend, LabHost, LabRole } from '../../../lab/world.js';
import { World } from '../../../lab/world.js';
import { freshHost, provisionInitial } from '../../../lab/ssh/host.js';

/** Roles as inventory/local.yaml defines them. */
export const localRoles: Record<string, LabRole> = {
  worker: { prefix: 'worker', node: 'worker', labels: {}, taints: [] },
  worker_nfs: { prefix: 'worker-nfs', node: 'worker', labels: { 'toolforge.org/nfs-mounted': 'true' }, taints: [] },
  control: { prefix: 'control', node: 'control-plane', labels: {}, taints: [] },
  ingress: { prefix: 'ingress', node: 'worker', labels: {}, taints: [{ key: 'ingress', value: 'true', effect: 'NoSchedule' }] },
  etcd: { prefix: 'etcd', node: 'none', labels: {}, taints: [] },
};

/** A world for the local cluster at a high speed. */
export function testWorld(speed = 50): World {
  return new World({ clusterName: 'local', prefix: 'local-k8s', roles: localRoles, speed, kubernetesVersion: '1.29.4' });
}

/** Adds a host to the world: provisioned and joined like the lab's initial hosts, or fresh. */
export function addTestHost(world: World, name: string, role: string, options: { provisioned?: boolean; address?: string } = {}): LabHost {
  const spec = freshHost({ name, role, address: options.address ?? '127.0.0.1', port: 22 });
  if (options.provisioned !== false) provisionInitial(spec, world);
  return world.addHost(spec);
}

/** A kubeadm backend that checks a fixed token, hash and certificate key and records calls. */
export class RecordingKubeadm implements KubeadmBackend {
  readonly calls: string[] = [];
  readonly token = 'abcdef.0123456789abcdef';
  readonly hash = 'sha256:' + 'a'.repeat(64);
  readonly certKey = 'b'.repeat(64);
  tokens = new Set<string>([this.token]);

  tokenCreate(ttlSeconds: number): { token: string; joinCommand: string } {
    this.calls.push(`tokenCreate ${ttlSeconds}`);
    const token = `tok${this.tokens.size.toString().padStart(3, '0')}.0123456789abcdef`;
    this.tokens.add(token);
    return { token, joinCommand: `kubeadm join 127.0.0.1:6443 --token ${token} --discovery-token-ca-cert-hash ${this.hash}` };
  }
  tokenDelete(tokenOrId: string): boolean {
    this.calls.push(`tokenDelete ${tokenOrId}`);
    const id = tokenOrId.split('.')[0];
    for (const t of this.tokens) {
      if (t.split('.')[0] === id) {
        this.tokens.delete(t);
        return true;
      }
    }
    return false;
  }
  tokenList(): string {
    return 'TOKEN                     TTL         EXPIRES                USAGES\n' + [...this.tokens].map((t) => `${t}   23h   2030-01-01T00:00:00Z   authentication,signing\n`).join('');
  }
  uploadCerts(): string {
    this.calls.push('uploadCerts');
    return this.certKey;
  }
  join(host: LabHost, args: { apiServer: string; token: string; caCertHash: string; controlPlane: boolean; certificateKey?: string }): void {
    this.calls.push(`join ${host.name} ${args.apiServer} cp=${args.controlPlane}`);
    if (!this.tokens.has(args.token)) throw new Error('error execution phase preflight: couldn\'t validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "' + args.token.split('.')[0] + '"');
    if (args.caCertHash !== this.hash) throw new Error('error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "sha256:x" are pinned');
    if (args.controlPlane && args.certificateKey !== this.certKey) throw new Error('error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certificate key: encoding/hex: invalid byte');
  }
  reset(host: LabHost): void {
    this.calls.push(`reset ${host.name}`);
  }
  upgrade(host: LabHost, action: 'plan' | 'apply' | 'node', version?: string): string {
    this.calls.push(`upgrade ${action} ${host.name} ${version ?? ''}`.trim());
    return `[upgrade] ${action} ok\n`;
  }
  certs(host: LabHost, action: 'check-expiration' | 'renew', what?: string): string {
    this.calls.push(`certs ${action} ${what ?? ''}`.trim());
    return action === 'renew' ? `certificates renewed (${what})\n` : 'CERTIFICATE   EXPIRES   RESIDUAL TIME\nadmin.conf    Jan 01, 2030   364d\n';
  }
}
