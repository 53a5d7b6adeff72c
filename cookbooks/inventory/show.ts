// inventory.show: what the inventory says about a cluster, as operators check it before a run.
import { argFlag, argString, clusterNameOption, frozen } from '../../lib/core/args.js';
import { defineCookbook } from '../../lib/core/cookbook.js';
import type { ClusterConfig } from '../../lib/inventory/schema.js';

interface Args {
  clusterName: string;
  roles: boolean;
}

/** A human view of one cluster entry. */
export function describeCluster(c: ClusterConfig): string {
  const lines = [
    `cluster ${c.name}${c.production ? ' (production)' : ''}${c.description ? `: ${c.description}` : ''}`,
    `  source        ${c.source}`,
    `  host names    ${c.prefix}-<role prefix>-<N>${c.domain ? `.${c.domain}` : ''}`,
    `  openstack     cloud ${c.openstack.cloud}, project ${c.openstack.project}${c.openstack.region ? `, region ${c.openstack.region}` : ''}`,
    `  kubernetes    ${c.kubernetes.apiServer}${c.kubernetes.version ? ` (v${c.kubernetes.version})` : ''}`,
    `  ssh           ${c.ssh.user}@<host>:${c.ssh.port}${c.ssh.jumpHost ? ` via ${c.ssh.jumpHost}` : ''}, addresses from ${c.ssh.addresses}`,
    `  lock          ${c.lock.backend} (ttl ${c.lock.ttlSeconds}s)`,
  ];
  if (c.alertmanager) lines.push(`  alertmanager  ${c.alertmanager.url}`);
  if (c.lab) lines.push(`  lab           ${c.lab.stateDir ?? '(default state dir)'}`);
  lines.push('  roles:');
  for (const [name, r] of Object.entries(c.roles)) {
    const extra = [
      r.node !== 'worker' ? `node=${r.node}` : '',
      Object.keys(r.labels).length ? `labels=${Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(',')}` : '',
      r.taints.length ? `taints=${r.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(',')}` : '',
    ].filter(Boolean);
    lines.push(
      `    ${name.padEnd(11)} ${c.prefix}-${r.prefix}-N  flavor ${r.flavor}, image ${r.image}, min ${r.min}` +
        `${r.serverGroup ? `, group ${r.serverGroup.name} (${r.serverGroup.policy})` : ''}${extra.length ? `, ${extra.join(', ')}` : ''}`,
    );
  }
  return lines.join('\n');
}

export default defineCookbook<Args>({
  summary: "Show a cluster's inventory entry",
  description: 'Prints what the inventory says about a cluster: endpoints, SSH access, lock backend and roles.',
  options: {
    'cluster-name': clusterNameOption,
    roles: { type: 'boolean', default: true, describe: 'Include the roles' },
  },
  examples: [
    ['cookbook inventory.show --cluster-name toolsbeta', 'Show the toolsbeta cluster'],
    ['cookbook inventory.show --cluster-name tools --json', 'The same as one JSON object (under "result")'],
  ],
  lock: 'none',
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), roles: argFlag(raw, 'roles') }),
  async run(ctx, args) {
    const c = ctx.cluster;
    ctx.print(args.roles ? describeCluster(c) : describeCluster({ ...c, roles: {} }));
    return { ...c, roles: args.roles ? c.roles : undefined };
  },
});
