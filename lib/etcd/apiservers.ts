// Who points at the etcd members: every control node's kube-apiserver static pod manifest (--etcd-servers)
// and kubeadm's ClusterConfiguration (etcd.external.endpoints). Edited one control node at a time with
// /readyz polled in between (never a fixed sleep), each edit an ensure-style step, so an interrupted run
// resumes where it stopped and never leaves an apiserver pointing at a removed member.
import { parseDocument } from 'yaml';
import type { Context } from '../core/context.js';
import { KubernetesError } from '../core/errors.js';
import { isPlanned } from '../core/gate.js';
import { rolePattern } from '../inventory/naming.js';

/** The apiserver's static pod manifest on a control node. */
export const APISERVER_MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';

/** The `--etcd-servers` list of a manifest ([] when the flag is absent). */
export function etcdServersOf(manifest: string): string[] {
  const m = /--etcd-servers=(\S*)/.exec(manifest);
  return m && m[1] ? m[1].split(',').filter(Boolean) : [];
}

/** The manifest with its `--etcd-servers` list replaced (the text is otherwise kept as it is). */
export function withEtcdServers(manifest: string, servers: readonly string[]): string {
  return manifest.replace(/--etcd-servers=\S*/, `--etcd-servers=${servers.join(',')}`);
}

/** The endpoints of kubeadm's ClusterConfiguration (etcd.external.endpoints). */
export function kubeadmEndpointsOf(clusterConfiguration: string): string[] {
  const doc = parseDocument(clusterConfiguration);
  const list = doc.getIn(['etcd', 'external', 'endpoints']) as { toJSON(): unknown } | undefined;
  return list ? ((list.toJSON() as string[]) ?? []) : [];
}

/** The ClusterConfiguration with its external etcd endpoints replaced (comments and the rest kept). */
export function withKubeadmEndpoints(clusterConfiguration: string, endpoints: readonly string[]): string {
  const doc = parseDocument(clusterConfiguration);
  doc.setIn(['etcd', 'external', 'endpoints'], [...endpoints]);
  return doc.toString();
}

/** Control nodes that have a VM, sorted (every role that joins as control plane). */
export async function controlHosts(ctx: Context): Promise<string[]> {
  const os = await ctx.openstack();
  const roles = Object.values(ctx.cluster.roles).filter((r) => r.node === 'control-plane');
  const out: string[] = [];
  for (const role of roles) {
    const re = rolePattern(ctx.cluster, role);
    out.push(...(await os.listServers({ name: re.source })).map((s) => s.name).filter((n) => re.test(n)));
  }
  return out.sort();
}

async function readManifest(ctx: Context, host: string): Promise<string> {
  const remote = await ctx.remote();
  return (await remote.query(host, ['cat', APISERVER_MANIFEST], { sudo: ctx.cluster.ssh.sudo })).stdout;
}

async function readKubeadmConfig(ctx: Context): Promise<string> {
  const k = ctx.cluster.kubernetes;
  // Loaded on use: `cookbook list` must not pull in the Kubernetes client.
  const { loadKubeConfig, makeApis } = await import('../k8s/transport.js');
  const apis = makeApis(loadKubeConfig({ kubeconfig: k.kubeconfig, context: k.context }));
  try {
    const cm = (await apis.objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config', namespace: 'kube-system' } })) as { data?: Record<string, string> };
    return cm.data?.ClusterConfiguration ?? '';
  } catch (err) {
    throw new KubernetesError(`cannot read kube-system/kubeadm-config of cluster ${ctx.cluster.name}: ${(err as Error).message}`, {
      cause: err,
      context: { cluster: ctx.cluster.name, object: 'configmap/kube-system/kubeadm-config' },
      hint: 'check the kubeconfig and that the cluster was set up by kubeadm',
    });
  } finally {
    apis.close();
  }
}

/**
 * Makes every apiserver and kubeadm's configuration list exactly what `change` makes of their current list:
 * one control node at a time, /readyz polled before the next. `what` names the change in step names.
 */
export async function updateEtcdServers(ctx: Context, what: string, change: (current: readonly string[]) => string[], need: unknown = true): Promise<void> {
  const remote = await ctx.remote();
  const kube = await ctx.k8s();
  const controls = await ctx.memo(`etcd:controls`, () => controlHosts(ctx));
  for (const host of controls) {
    // What the check just read is what apply edits (one read less per node; nothing else edits it meanwhile).
    let checked: string | undefined;
    await ctx.step(`${what} in the apiserver of ${host}`, {
      target: `host/${host}:${APISERVER_MANIFEST}`,
      needs: [need],
      check: async () => {
        checked = await readManifest(ctx, host);
        const current = etcdServersOf(checked);
        return sameList(current, change(current)) ? true : undefined;
      },
      apply: async () => {
        const text = checked ?? (await readManifest(ctx, host));
        checked = undefined;
        const next = change(etcdServersOf(text));
        if (next.length === 0) throw new KubernetesError(`refusing to leave the apiserver of ${host} without etcd servers`, { context: { host }, hint: 'add a member first' });
        const r = await remote.upload(host, APISERVER_MANIFEST, withEtcdServers(text, next), { mode: 0o600 });
        if (isPlanned(r)) return r;
        // The kubelet restarts the static pod; the next node waits until the API answers /readyz again.
        await ctx.waitFor(async () => kube.readyz(), { what: `/readyz after the apiserver of ${host} changed`, timeoutMs: 5 * 60_000, backoff: { initialMs: 100, maxMs: 2000 } });
        return true;
      },
      verify: async () => {
        const current = etcdServersOf(await readManifest(ctx, host));
        return sameList(current, change(current));
      },
    });
  }
  await ctx.step(`${what} in kubeadm-config`, {
    target: 'configmap/kube-system/kubeadm-config',
    needs: [need],
    check: async () => {
      const current = kubeadmEndpointsOf(await readKubeadmConfig(ctx));
      return sameList(current, change(current)) ? true : undefined;
    },
    apply: async () => {
      const text = await readKubeadmConfig(ctx);
      const next = withKubeadmEndpoints(text, change(kubeadmEndpointsOf(text)));
      const r = await kube.apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kubeadm-config', namespace: 'kube-system' }, data: { ClusterConfiguration: next } } as never]);
      return isPlanned(r) ? r : true;
    },
  });
}

/** Every apiserver's list and kubeadm's, for status and tests. */
export async function etcdServersEverywhere(ctx: Context): Promise<{ apiservers: Record<string, string[]>; kubeadm: string[] }> {
  const controls = await controlHosts(ctx);
  const apiservers: Record<string, string[]> = {};
  for (const h of controls) apiservers[h] = etcdServersOf(await readManifest(ctx, h));
  return { apiservers, kubeadm: kubeadmEndpointsOf(await readKubeadmConfig(ctx)) };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
