// Starting an in-process lab for a test suite, with its state dir in a temp directory.
import { join } from 'node:path';
import { type LabHandle, type LabOptions, startLab } from '../../lab/index.js';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { Kube, kubeFromFile } from '../../lib/k8s/index.js';
import { tempDir } from './cli.js';

/** A started lab plus conveniences. */
export interface TestLab extends LabHandle {
  kubeconfig: string;
  /** A Kubernetes client of ours on this lab. */
  client(options?: { dryRun?: boolean }): Kube;
  counters(): LabHandle['world']['counters'];
}

/**
 * Starts a lab (fast by default) in a fresh temp state dir. No load balancer unless `loadbalancer: N` asks for
 * real HAProxy hosts (then the kubeconfig points at the first one; `lab.loadBalancers` has their port and PIDs).
 */
export async function startTestLab(options: LabOptions = {}): Promise<TestLab> {
  const stateDir = options.stateDir ?? join(tempDir('cc-lab-'), 'lab');
  const lab = await startLab({ speed: 40, clusterName: 'labtest', ...options, stateDir });
  const kubeconfig = join(lab.stateDir, 'kubeconfig');
  return Object.assign(lab, {
    kubeconfig,
    client: (o: { dryRun?: boolean } = {}) => kubeFromFile(kubeconfig, { gate: new Gate({ dryRun: o.dryRun ?? false }), log: new MemoryLog() }),
    counters: () => lab.world.counters,
  });
}
