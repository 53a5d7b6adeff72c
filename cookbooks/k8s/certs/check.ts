// k8s.certs.check: on every control node, kubeadm's certificate list and the certificate its API server
// actually serves (a TLS handshake with the node's own endpoint), flagging a served certificate that is not the
// one on disk (renewed files, static pods never restarted). Exit 1 when any expires within --warn-days, so it
// can run from `cookbook schedule`. Read-only.
import { argInt, argString, clusterNameOption, frozen } from '../../../lib/core/args.js';
import { defineCookbook } from '../../../lib/core/cookbook.js';
import { requireControlRole } from '../../../lib/ops/certs/args.js';

interface Args {
  clusterName: string;
  warnDays: number;
}

export default defineCookbook<Args>({
  summary: 'Certificate expiry on every control node: kubeadm\'s list and the certificate each API server serves (exit 1 when one expires within --warn-days)',
  description:
    'Runs `kubeadm certs check-expiration` on every control node (JSON output on kubeadm 1.30 and later, the table before), reads /etc/kubernetes/pki/apiserver.crt, and does a TLS handshake with the node\'s own API endpoint (its address, port from inventory kubernetes.apiserverPort or the apiServer URL) to read the certificate it actually serves (NotAfter, serial), verified against the node\'s ca.crt. Flags a served certificate that differs from the one on disk (renewed but the static pods were never restarted). Exits 1 naming every certificate that expires within --warn-days, is missing, or a node that could not be read; read-only, so it can run from `cookbook schedule install`.',
  options: {
    'cluster-name': clusterNameOption,
    'warn-days': { type: 'number', default: 30, requiresArg: true, describe: 'Fail when a certificate expires within this many days [1 to 3650]' },
  },
  examples: [
    ['cookbook k8s.certs.check --cluster-name tools', 'Every control node\'s certificates; exit 1 when one expires within 30 days'],
    ['cookbook k8s.certs.check --cluster-name tools --warn-days 60 --json', 'The same with a 60-day window, as JSON'],
    ['cookbook schedule install k8s.certs.check --on-calendar daily --name certs-tools -- --cluster-name tools', 'Every day, from a systemd timer'],
  ],
  // Read-only: it runs while other runs hold the cluster lock (a renewal included).
  lock: 'none',
  parse: (raw) => frozen({ clusterName: argString(raw, 'cluster-name', { required: true }), warnDays: argInt(raw, 'warn-days', { min: 1, max: 3650, default: 30 })! }),
  validate: (cluster) => void requireControlRole(cluster),
  async run(ctx, args) {
    const { checkCertificates } = await import('../../../lib/ops/certs/check.js');
    return checkCertificates(ctx, { warnDays: args.warnDays });
  },
});
