// Pure parts of the renewal: which static pod manifests a restart moves (kubeadm's own, in a fixed order so a
// dry-run and the real run move them alike), and the inventory refusals made before the lock.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { InputError } from '../../../lib/core/errors.js';
import { requireControlHost, requireControlRole } from '../../../lib/ops/certs/args.js';
import { staticPodFiles } from '../../../lib/ops/certs/renew.js';
import type { ClusterConfig } from '../../../lib/inventory/schema.js';
import { getCluster, loadInventory } from '../../../lib/inventory/load.js';
import { ROOT } from '../../helpers/cli.js';

const cluster = getCluster(loadInventory([join(ROOT, 'inventory')]), 'tools');

describe('certs renewal: manifests moved and refusals', () => {
  const rows: [string, string, string[]][] = [
    ['kubeadm\'s four, sorted', 'kube-scheduler.yaml\nkube-apiserver.yaml\netcd.yaml\nkube-controller-manager.yaml\n', ['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml']],
    ['other static pods stay where they are', 'haproxy.yaml\nkeepalived.yaml\nkube-apiserver.yaml\n', ['kube-apiserver.yaml']],
    ['external etcd: no etcd.yaml', 'kube-apiserver.yaml\nkube-scheduler.yaml\nkube-controller-manager.yaml', ['kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml']],
    ['backups and editor files are not manifests', 'kube-apiserver.yaml.bak\n.kube-apiserver.yaml.swp\nkube-apiserver.yaml~\n', []],
    ['an empty directory', '', []],
  ];
  for (const [title, listing, files] of rows) it(title, () => assert.deepEqual(staticPodFiles(listing), files));

  it('a worker, or a host of no role, is refused as not a control node (InputError naming it and the roles)', () => {
    assert.doesNotThrow(() => requireControlHost(cluster, 'tools-k8s-control-2'));
    assert.throws(() => requireControlHost(cluster, 'tools-k8s-worker-1'), (e: unknown) => e instanceof InputError && /tools-k8s-worker-1 is a worker host of cluster tools, not a control node/.test(e.message) && /role control/.test(e.hint ?? ''));
    assert.throws(() => requireControlHost(cluster, 'mail-1'), (e: unknown) => e instanceof InputError && /mail-1 is not a host of cluster tools/.test(e.message));
    assert.throws(() => requireControlRole({ ...cluster, roles: { worker: cluster.roles.worker! } } as ClusterConfig), /cluster tools has no control-plane role/);
  });
});
