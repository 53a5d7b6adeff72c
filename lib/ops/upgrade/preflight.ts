// The cluster-health half of k8s.upgrade's preflight (the version half is versions.ts): every etcd member
// active, and no kubeadm certificate of a control node expiring before the upgrade is expected to end
// (kubeadm renews them during apply/node, but a certificate that lapses mid-run stops the control plane).
import type { Context } from '../../core/context.js';
import { CookbookError } from '../../core/errors.js';
import { formatMs } from '../../core/retry.js';
import type { Kube } from '../../k8s/index.js';
import type { Remote } from '../../remote/index.js';
import { etcdHealth } from '../rollout/facts.js';

/** A certificate row of `kubeadm certs check-expiration`: its name and when it expires (ms). */
export function parseCertExpiry(text: string): { name: string; expires: number }[] {
  const out: { name: string; expires: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+([A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC)\s/.exec(line);
    if (m && !Number.isNaN(Date.parse(m[2]!))) out.push({ name: m[1]!, expires: Date.parse(m[2]!) });
  }
  return out;
}

/** Refuses (before any change) an unhealthy etcd member or a certificate expiring within `horizonMs`. */
export async function healthPreflight(ctx: Context, kube: Kube, remote: Remote, controls: readonly string[], horizonMs: number): Promise<void> {
  const etcd = await etcdHealth(ctx, { kube, remote, openstack: () => ctx.openstack() });
  const down = etcd?.members?.filter((m) => !m.active) ?? [];
  if (etcd?.error || down.length) {
    throw new CookbookError(`cannot upgrade ${ctx.cluster.name}: etcd is not healthy: ${etcd?.error ?? down.map((m) => `${m.name} (${m.detail ?? 'not active'})`).join(', ')}`, {
      context: { cluster: ctx.cluster.name, members: down.map((m) => m.name) },
      hint: 'repair the etcd members first (cookbook etcd.status), then run k8s.upgrade again',
    });
  }
  const limit = ctx.clock.now() + horizonMs;
  const expiring: string[] = [];
  for (const host of controls) {
    const r = await remote.query(host, ['kubeadm', 'certs', 'check-expiration'], { sudo: ctx.cluster.ssh.sudo, timeoutMs: 60_000 });
    for (const c of parseCertExpiry(r.stdout)) if (c.expires < limit) expiring.push(`${host} ${c.name} (${new Date(c.expires).toISOString()})`);
  }
  if (expiring.length) {
    throw new CookbookError(`cannot upgrade ${ctx.cluster.name}: kubeadm certificates expire within ${formatMs(horizonMs)}, before the upgrade would end: ${expiring.join(', ')}`, {
      context: { cluster: ctx.cluster.name, expiring },
      hint: 'renew them first (kubeadm certs renew all on each named control node, then restart its static pods), then run k8s.upgrade again',
    });
  }
}
