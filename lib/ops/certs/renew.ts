// k8s.certs.renew's work, one control node at a time: out of the load balancers, `kubeadm certs renew all`,
// a static-pod restart (manifests moved out to a fixed directory, wait until the kubelet stopped the API
// server, moved back), wait until the node serves the renewed certificate and /readyz passes, back into the
// load balancers. Every part is an ensure-style step whose check looks at the real state (the disk's serial
// against the one recorded before the renewal, where the manifests are, what the endpoint serves), so a run
// killed anywhere is finished by the same command: manifests are never left out, no backend is left drained.
import type { Context } from '../../core/context.js';
import { InputError, TimeoutError, messageOf } from '../../core/errors.js';
import { type Planned, isPlanned } from '../../core/gate.js';
import { CertsRenewError } from '../../certs/errors.js';
import { type NodeEndpoint, endpointText } from '../../certs/endpoint.js';
import { MANIFEST_DIR, PARKED_DIR, nodeApiEndpoint } from './endpoint.js';
import { backendIn, backendOut, controlNodes, lbPreflight } from '../loadbalancer/index.js';
import { readDiskCerts, probeNode } from './read.js';

/** The static pods kubeadm writes and `kubeadm certs renew` asks to restart (other static pods stay). */
export const KUBEADM_STATIC_PODS = ['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml'];

/** How long the renewal waits (defaults in brackets). */
export interface RenewTimeouts {
  /** For the kubelet to stop the API server once its manifest is gone [2 min]. */
  stopMs: number;
  /** For the API server to serve the renewed certificate and pass /readyz after the manifests are back [5 min]. */
  serveMs: number;
}

/** Defaults of RenewTimeouts. */
export const RENEW_TIMEOUTS: Readonly<RenewTimeouts> = Object.freeze({ stopMs: 2 * 60_000, serveMs: 5 * 60_000 });

/** What one node's renewal ended with. */
export interface NodeRenewal {
  node: string;
  endpoint: string;
  serialBefore: string;
  serial: string | null;
  notAfter: string | null;
}

/** The kubeadm manifests in a directory listing (sorted: dry-run and real run move them in the same order). */
export function staticPodFiles(listing: string): string[] {
  return listing
    .split('\n')
    .map((l) => l.trim())
    .filter((f) => KUBEADM_STATIC_PODS.includes(f))
    .sort();
}

async function listDir(ctx: Context, node: string, dir: string): Promise<string[]> {
  const r = await (await ctx.remote()).query(node, ['ls', dir], { sudo: ctx.cluster.ssh.sudo, okExitCodes: 'any' });
  return r.exitCode === 0 ? staticPodFiles(r.stdout) : [];
}

/**
 * Refusals before anything changes (exit 2): the named nodes are control nodes known to Kubernetes, every load
 * balancer answers and is in step, and every other control node's API server answers /readyz. A node this run
 * (or the run it resumes) left half-done is allowed to be out of the load balancers and down.
 */
export async function renewPreflight(ctx: Context, targets: readonly string[]): Promise<string[]> {
  const controls = await controlNodes(ctx);
  const unknown = targets.filter((t) => !controls.includes(t));
  if (unknown.length) {
    throw new InputError(`${unknown.join(', ')}: not a control node of cluster ${ctx.cluster.name} (the control nodes are ${controls.join(', ') || 'none'})`, {
      context: { cluster: ctx.cluster.name, hosts: unknown, controls },
      hint: 'name a control node that is a Kubernetes Node (kubectl get nodes -l node-role.kubernetes.io/control-plane)',
    });
  }
  const inProgress = ctx.recall<string>('certs:current');
  const except = inProgress ? [inProgress] : [];
  await lbPreflight(ctx, { controls, except });
  const down: string[] = [];
  await Promise.all(
    controls
      .filter((c) => !except.includes(c))
      .map(async (c) => {
        const endpoint = await nodeApiEndpoint(ctx, c);
        const probe = await probeNode(endpoint, '');
        if (probe.readyz !== 200) down.push(`${c} (${endpointText(endpoint)}: ${probe.readyz ? `/readyz ${probe.readyz}` : (probe.error ?? 'no answer')})`);
      }),
  );
  if (down.length) {
    throw new InputError(`the API server of ${down.sort().join(', ')} is not ready: renewing now could leave the cluster without a working API server`, {
      context: { cluster: ctx.cluster.name, notReady: down },
      hint: 'fix those API servers first (crictl ps and the kubelet log on the node), then run the same command again (nothing was changed)',
    });
  }
  if (controls.length === 1) ctx.log.warn(`${controls[0]} is the only control node: the Kubernetes API is unavailable while its static pods restart`);
  return controls;
}

/** Renews one control node (the steps above); returns what it serves afterwards. */
export async function renewNode(ctx: Context, node: string, timeouts: Partial<RenewTimeouts> = {}): Promise<NodeRenewal> {
  const t = { ...RENEW_TIMEOUTS, ...timeouts };
  const remote = await ctx.remote();
  const sudo = ctx.cluster.ssh.sudo;
  const endpoint: NodeEndpoint = await nodeApiEndpoint(ctx, node);
  // Recorded once, before anything changes: "renewed" means the file is no longer this one.
  const before = await ctx.memo(`certs:before:${node}`, async () => (await readDiskCerts(ctx, node)).apiserver.serial);
  ctx.remember('certs:current', node);

  const out = await backendOut(ctx, node);

  const renewed = await ctx.step<string, [unknown]>(`renew the certificates of ${node}`, {
    target: `host/${node}`,
    needs: [out ?? true],
    onPlannedNeed: 'assume',
    check: async () => {
      const serial = (await readDiskCerts(ctx, node)).apiserver.serial;
      return serial !== before ? serial : undefined;
    },
    apply: async (): Promise<string | Planned> => {
      const r = await remote.run(node, ['kubeadm', 'certs', 'renew', 'all'], { sudo, timeoutMs: 2 * 60_000 });
      if (isPlanned(r)) return r;
      return (await readDiskCerts(ctx, node)).apiserver.serial;
    },
    verify: async (serial) => serial !== before,
  });

  // Sorted kubeadm manifests that are (or, in a dry-run, would be) parked.
  const parked = await ctx.step<string[], [unknown]>(`move the static pod manifests of ${node} out`, {
    target: `host/${node}:${MANIFEST_DIR}`,
    needs: [renewed],
    onPlannedNeed: 'assume',
    check: async () => {
      const already = await listDir(ctx, node, PARKED_DIR);
      if (already.length) return already;
      // A resumed run that already moved them back (the API server may still be starting): do not restart again.
      if (ctx.recall<boolean>(`certs:back:${node}`)) return [];
      // Restarted already: the served certificate is the one on disk and nothing is parked.
      return (await servesDisk(ctx, node, endpoint)) ? [] : undefined;
    },
    apply: async (): Promise<string[] | Planned> => {
      const files = await listDir(ctx, node, MANIFEST_DIR);
      if (!files.includes('kube-apiserver.yaml')) {
        throw new CertsRenewError(`${node} has no ${MANIFEST_DIR}/kube-apiserver.yaml: its API server is not a kubeadm static pod (or a run of another tool parked it)`, {
          context: { host: node, manifests: files, parkedDir: PARKED_DIR },
          hint: `look for the manifest on ${node} (ls ${MANIFEST_DIR} /etc/kubernetes/tmp) and put it back before renewing`,
        });
      }
      ctx.remember(`certs:parked:${node}`, files);
      let planned: Planned | undefined;
      const mk = await remote.run(node, ['mkdir', '-p', PARKED_DIR], { sudo });
      if (isPlanned(mk)) planned = mk;
      for (const f of files) {
        const r = await remote.run(node, ['mv', `${MANIFEST_DIR}/${f}`, `${PARKED_DIR}/`], { sudo });
        if (isPlanned(r)) planned = r;
      }
      return planned ?? files;
    },
  });

  const stopped = await ctx.step<true, [string[]]>(`wait until the kubelet of ${node} stopped its static pods`, {
    target: `node/${node}`,
    needs: [parked],
    check: async (files) => (files.length === 0 ? true : undefined),
    apply: async () => {
      try {
        await ctx.waitFor(async () => (await probeNode(endpoint, '', ctx.signal)).error !== undefined, {
          what: `the API server of ${node} to stop (${endpointText(endpoint)} refusing connections)`,
          timeoutMs: t.stopMs,
          backoff: { initialMs: 100, maxMs: 1000 },
          context: { node, endpoint: endpointText(endpoint) },
        });
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        // A kubelet that never stopped the pod: the manifests go back at once (never left out), the pod keeps
        // serving the old certificate, and the run stops saying so.
        const files = await listDir(ctx, node, PARKED_DIR);
        for (const f of files) await remote.run(node, ['mv', `${PARKED_DIR}/${f}`, `${MANIFEST_DIR}/`], { sudo });
        throw new CertsRenewError(`the kubelet of ${node} did not stop its static pods within ${Math.round(t.stopMs / 1000)} s of their manifests leaving ${MANIFEST_DIR} (its API server still answers on ${endpointText(endpoint)}); the manifests were put back`, {
          cause: err,
          context: { host: node, endpoint: endpointText(endpoint), manifests: files },
          hint: `check the kubelet on ${node} (systemctl status kubelet; journalctl -u kubelet), then run the same command again; ${node} stays drained in the load balancers until then`,
        });
      }
      return true;
    },
  });

  const back = await ctx.step<true, [unknown]>(`move the static pod manifests of ${node} back`, {
    target: `host/${node}:${MANIFEST_DIR}`,
    needs: [stopped],
    // Dry-run: plan the moves back of what the move out planned (the directory is still empty then).
    onPlannedNeed: 'assume',
    check: async () => ((await listDir(ctx, node, PARKED_DIR)).length === 0 ? true : undefined),
    apply: async (_stopped, run): Promise<true | Planned> => {
      const files = run.assumed ? (ctx.recall<string[]>(`certs:parked:${node}`) ?? []) : await listDir(ctx, node, PARKED_DIR);
      let planned: Planned | undefined;
      for (const f of files) {
        const r = await remote.run(node, ['mv', `${PARKED_DIR}/${f}`, `${MANIFEST_DIR}/`], { sudo });
        if (isPlanned(r)) planned = r;
      }
      if (!planned) ctx.remember(`certs:back:${node}`, true);
      return planned ?? true;
    },
    verify: async () => (await listDir(ctx, node, PARKED_DIR)).length === 0 && (await listDir(ctx, node, MANIFEST_DIR)).includes('kube-apiserver.yaml'),
  });

  const serving = await ctx.step<NodeRenewal, [unknown]>(`wait until ${node} serves its renewed certificate`, {
    target: `node/${node}`,
    needs: [back],
    check: async () => {
      const disk = await readDiskCerts(ctx, node);
      const p = await probeNode(endpoint, disk.caPem, ctx.signal);
      return p.readyz === 200 && p.served?.fingerprint256 === disk.apiserver.fingerprint256 ? renewal(node, endpoint, before, p.served) : undefined;
    },
    apply: async () => {
      const disk = await readDiskCerts(ctx, node);
      let last = '';
      const served = await ctx
        .waitFor(
          async () => {
            const p = await probeNode(endpoint, disk.caPem, ctx.signal);
            last = p.served ? `serves serial ${p.served.serial}, /readyz ${p.readyz ?? p.error}` : (p.error ?? 'no answer');
            return p.readyz === 200 && p.served?.fingerprint256 === disk.apiserver.fingerprint256 ? p.served : undefined;
          },
          { what: `${node} to serve serial ${disk.apiserver.serial} with /readyz passing`, timeoutMs: t.serveMs, backoff: { initialMs: 100, maxMs: 2000 }, context: { node } },
        )
        .catch((err: unknown) => {
          throw new CertsRenewError(`${node} does not serve its renewed certificate (serial ${disk.apiserver.serial}) after its static pods restarted: last seen ${last}`, {
            cause: err,
            context: { host: node, endpoint: endpointText(endpoint), serial: disk.apiserver.serial, last },
            hint: `look at the kube-apiserver container on ${node} (crictl ps -a; crictl logs): the manifests are back in ${MANIFEST_DIR}; ${node} stays drained in the load balancers until the same command, run again, sees it serve the renewed certificate`,
          });
        });
      return renewal(node, endpoint, before, served);
    },
  });

  await backendIn(ctx, node, { need: back });
  ctx.remember('certs:current', null);
  ctx.log.info(`${node}: ${isPlanned(serving) ? 'renewal planned' : `serves serial ${serving.serial}, valid until ${serving.notAfter}`}`);
  return isPlanned(serving) ? { node, endpoint: endpointText(endpoint), serialBefore: before, serial: null, notAfter: null } : serving;
}

function renewal(node: string, endpoint: NodeEndpoint, before: string, served: { serial: string; notAfter: string }): NodeRenewal {
  return { node, endpoint: endpointText(endpoint), serialBefore: before, serial: served.serial, notAfter: served.notAfter };
}

/** True when the node's endpoint serves apiserver.crt's certificate (false when it does not answer). */
async function servesDisk(ctx: Context, node: string, endpoint: NodeEndpoint): Promise<boolean> {
  try {
    const disk = await readDiskCerts(ctx, node);
    const p = await probeNode(endpoint, disk.caPem, ctx.signal);
    return p.served?.fingerprint256 === disk.apiserver.fingerprint256;
  } catch (err) {
    ctx.log.debug(`${node}: cannot compare served and disk certificates: ${messageOf(err)}`);
    return false;
  }
}
