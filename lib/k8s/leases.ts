// Leases (coordination.k8s.io/v1), what the Kubernetes lock backend is built on. A create or update whose
// answer was lost is confirmed by reading the Lease back: it is ours when it carries our holder and renew time.
import type { V1Lease } from '@kubernetes/client-node';
import type { Planned } from '../core/gate.js';
import type { KubeOpsDeps } from './requests.js';

/** The stored lease when it is the one we sent (same holder and renew time), else undefined. */
export function sameLease(stored: V1Lease | undefined, sent: V1Lease): V1Lease | undefined {
  const ms = (t: unknown): number | undefined => (t === undefined || t === null ? undefined : new Date(t as string | Date).getTime());
  if (!stored || stored.spec?.holderIdentity !== sent.spec?.holderIdentity) return undefined;
  return ms(stored.spec?.renewTime) === ms(sent.spec?.renewTime) ? stored : undefined;
}

/** A Lease, or undefined. */
export async function getLease(d: KubeOpsDeps, namespace: string, name: string): Promise<V1Lease | undefined> {
  return d.req.readOptional(`GET lease ${namespace}/${name}`, () => d.apis.coordination.readNamespacedLease({ namespace, name }));
}

/** Creates a Lease (409 when it exists). */
export async function createLease(d: KubeOpsDeps, namespace: string, lease: V1Lease): Promise<V1Lease | Planned> {
  const name = lease.metadata?.name ?? '';
  return d.gate.mutate({ system: 'k8s', target: `lease/${namespace}/${name}`, action: 'create lease' }, () =>
    d.req.call(`create lease ${namespace}/${name}`, () => d.apis.coordination.createNamespacedLease({ namespace, body: lease }), {
      kind: 'create',
      context: { lease: `${namespace}/${name}` },
      confirm: async () => sameLease(await getLease(d, namespace, name), lease),
    }),
  );
}

/** Replaces a Lease (409 on a stale resourceVersion). */
export async function replaceLease(d: KubeOpsDeps, namespace: string, lease: V1Lease): Promise<V1Lease | Planned> {
  const name = lease.metadata?.name ?? '';
  return d.gate.mutate({ system: 'k8s', target: `lease/${namespace}/${name}`, action: 'update lease' }, () =>
    d.req.call(`update lease ${namespace}/${name}`, () => d.apis.coordination.replaceNamespacedLease({ namespace, name, body: lease }), {
      kind: 'write',
      context: { lease: `${namespace}/${name}` },
      confirm: async () => sameLease(await getLease(d, namespace, name), lease),
    }),
  );
}

/** Deletes a Lease with preconditions (idempotent). */
export async function deleteLease(d: KubeOpsDeps, namespace: string, name: string, preconditions: { uid?: string; resourceVersion?: string } = {}): Promise<boolean | Planned> {
  return d.gate.mutate({ system: 'k8s', target: `lease/${namespace}/${name}`, action: 'delete lease' }, async () => {
    const r = await d.req.readOptional(`delete lease ${namespace}/${name}`, () => d.apis.coordination.deleteNamespacedLease({ namespace, name, body: { preconditions } }), {
      kind: 'write',
      context: { lease: `${namespace}/${name}` },
    });
    return r !== undefined;
  });
}
