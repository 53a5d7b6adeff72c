// k8s.certs.renew: renews the kubeadm certificates of one control node (--hostname) or of every control node
// (--all-control), one node at a time, and makes each API server actually serve the renewed certificate
// (static-pod restart), keeping it out of the load balancers meanwhile. Resumable: the same command finishes
// an interrupted run.
import { UsageError } from '../../../lib/core/errors.js';
import { argDuration, argFlag, argHostname, argString, clusterNameOption, durationOption, frozen, hostnameOption } from '../../../lib/core/args.js';
import { defineCookbook } from '../../../lib/core/cookbook.js';
import { requireControlHost, requireControlRole } from '../../../lib/ops/certs/args.js';

interface Args {
  clusterName: string;
  hostname?: string;
  allControl: boolean;
  restartTimeoutMs: number;
}

/** --restart-timeout: how long a restarted API server gets to serve the renewed certificate. */
const RESTART_TIMEOUT = { default: 5 * 60_000, min: 5_000, max: 60 * 60_000 };

export default defineCookbook<Args>({
  summary: 'Renew the kubeadm certificates of control nodes and restart their static pods so the API servers serve them',
  description:
    'One control node at a time: take it out of every load balancer (drain, no sessions left), `kubeadm certs renew all`, restart its static pods (manifests moved to /etc/kubernetes/tmp/cluster-cookbooks-static-pods, wait until the kubelet stopped the API server, moved back), wait until its own endpoint serves the renewed certificate (serial equal to apiserver.crt) and /readyz passes, then put it back into the load balancers. Refuses (exit 2, nothing changed) a host that is not a control node, both or neither of --hostname/--all-control, an unreachable or out-of-step load balancer, and another control node whose API server is not ready. An interrupted run is finished by the same command (manifests never left out, no backend left drained).',
  options: {
    'cluster-name': clusterNameOption,
    hostname: hostnameOption('The control node to renew', false),
    'all-control': { type: 'boolean', describe: 'Renew every control node, one at a time' },
    'restart-timeout': durationOption('How long a node\'s restarted API server gets to serve the renewed certificate and pass /readyz', RESTART_TIMEOUT),
  },
  examples: [
    ['cookbook k8s.certs.renew --cluster-name tools --hostname tools-k8s-control-1', 'Renew one control node'],
    ['cookbook k8s.certs.renew --cluster-name tools --all-control', 'Renew every control node, one at a time'],
  ],
  parse(raw) {
    const hostname = argHostname(raw, 'hostname');
    const allControl = argFlag(raw, 'all-control');
    if (hostname && allControl) throw new UsageError('--hostname and --all-control exclude each other', { context: { hostname }, hint: 'give one control node with --hostname, or --all-control for every one' });
    if (!hostname && !allControl) throw new UsageError('name the nodes to renew: --hostname <control node> or --all-control', { hint: 'cookbook k8s.certs.check shows what expires where' });
    return frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), hostname, allControl, restartTimeoutMs: argDuration(raw, 'restart-timeout', RESTART_TIMEOUT)! });
  },
  validate(cluster, args) {
    requireControlRole(cluster);
    if (args.hostname) requireControlHost(cluster, args.hostname);
  },
  async run(ctx, args) {
    const { renewNode, renewPreflight } = await import('../../../lib/ops/certs/renew.js');
    const controls = await renewPreflight(ctx, args.hostname ? [args.hostname] : []);
    const targets = await ctx.memo('certs:targets', async () => (args.hostname ? [args.hostname] : controls));
    await ctx.confirm(`Renew the kubeadm certificates of ${targets.join(', ')} on ${ctx.cluster.name} and restart their static pods, one node at a time.`, {
      details: targets.map((t) => `${t}: out of the load balancers, kubeadm certs renew all, static pods restarted, back in after /readyz`),
    });
    const nodes = [];
    for (const node of targets) {
      ctx.checkpoint(`before renewing ${node}`);
      nodes.push(await renewNode(ctx, node, { serveMs: args.restartTimeoutMs }));
    }
    return { nodes };
  },
});
