// Lab A, the stand-in for the real cluster: a lab daemon (its own process, as the twin is and as a real
// cluster is remote), so A's real run and the simulated run meet the same kind of server. Set up and observed
// through its admin endpoint and our Kubernetes client only.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { type Kube, isNodeReady, kubeFromFile } from '../../lib/k8s/index.js';
import { startLabProcess, stopLab } from '../../lab/cli.js';
import { LabClient } from '../../lab/client.js';
import { tempDir } from '../helpers/cli.js';
import { appObjects } from '../cookbooks/k8s/reboot-helpers.js';

/** A running lab A. */
export interface LabA {
  stateDir: string;
  /** An inventory dir with A's entry. */
  inventory: string;
  admin: LabClient;
  kube: Kube;
  /** Names of the hosts of a role, in natural order. */
  hosts(role?: string): Promise<string[]>;
  /** Mutations A received since the last reset. */
  mutations(): Promise<{ k8s: number; ssh: number; openstack: number }>;
  stop(): Promise<void>;
}

/** Starts lab A (cluster `labtest` unless named; no seeded workload unless `namespaces`) and waits until every node is Ready. */
export async function startLabA(o: { workers: number; speed: number; control?: number; clusterName?: string; namespaces?: number; timings?: Record<string, number> }): Promise<LabA> {
  const name = o.clusterName ?? 'labtest';
  const stateDir = join(tempDir('cc-lab-a-'), 'lab');
  const { info } = await startLabProcess({ clusterName: name, stateDir, workers: o.workers, workersNfs: 0, ingress: 0, etcd: 0, control: o.control ?? 1, speed: o.speed, ...(o.namespaces ? { namespaces: o.namespaces } : { seedWorkload: false }), ...(o.timings ? { timings: o.timings } : {}), etcdStart: 'lazy' });
  const admin = new LabClient(info);
  const kube = kubeFromFile(join(stateDir, 'kubeconfig'), { gate: new Gate({ dryRun: false }), log: new MemoryLog() });
  const expected = o.workers + (o.control ?? 1);
  for (const end = Date.now() + 60_000; ; ) {
    const nodes = await kube.listNodes();
    if (nodes.filter((n) => isNodeReady(n) && !(n.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'))).length >= expected) break;
    assert.ok(Date.now() < end, `lab A: ${expected} nodes Ready`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // A's own entry as the lab wrote it (its Lease lock included): the twin's entry is made the same way.
  const inventory = tempDir('cc-inv-a-');
  mkdirSync(inventory, { recursive: true });
  copyFileSync(join(stateDir, 'inventory.yaml'), join(inventory, 'inventory.yaml'));
  return {
    stateDir,
    inventory,
    admin,
    kube,
    async hosts(role) {
      const s = await admin.status();
      return s.hosts
        .filter((h) => h.state !== 'deleted' && (!role || h.role === role))
        .map((h) => h.name)
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    },
    async mutations() {
      const c = await admin.counters();
      return { k8s: c.k8s_mutations, ssh: c.ssh_mutations, openstack: c.openstack_mutations };
    },
    async stop() {
      await kube.close();
      await stopLab(name, stateDir, { stderr: () => {} });
    },
  };
}

/** Creates Deployments (with a PDB each) in `ns` through the API and waits until they are Ready. */
export async function deploy(a: LabA, ns: string, apps: { name: string; replicas: number; pdb: { maxUnavailable?: number; minAvailable?: number }; nodeSelector?: Record<string, string> }[]): Promise<void> {
  const objects: Record<string, unknown>[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }];
  for (const app of apps) objects.push(...appObjects(ns, app));
  await a.kube.apply(objects as never);
  const refs = apps.map((x) => ({ kind: 'Deployment' as const, namespace: ns, name: x.name }));
  await a.kube.waitWorkloadsReady(refs, { timeoutMs: 60_000 });
}

/** Current boot ids of A's hosts. */
export async function bootIdsOf(a: LabA): Promise<Record<string, string>> {
  return Object.fromEntries((await a.admin.status()).hosts.map((h) => [h.name, h.bootId]));
}
