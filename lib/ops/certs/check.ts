// k8s.certs.check's work: every control node read in parallel (a handful of nodes, a few commands each),
// then the findings; the result is what --json shows and what a failure carries in its context.
import type { Context } from '../../core/context.js';
import { CertsCheckError } from '../../certs/errors.js';
import { type Finding, type NodeCerts, findingsOf, renderCheck } from '../../certs/report.js';
import { daysLeft } from '../../certs/x509.js';
import { controlHosts } from '../../etcd/apiservers.js';
import { readNodeCerts } from './read.js';

/** What k8s.certs.check returns (and puts in its error's context when it fails). */
export interface CheckResult {
  warnDays: number;
  checkedAt: string;
  ok: boolean;
  nodes: (NodeCerts & { servedMatchesDisk: boolean | null; servedDaysLeft: number | null })[];
  findings: Finding[];
}

/** Reads every control node (or the ones given) and prints the report; throws CertsCheckError when a finding fails. */
export async function checkCertificates(ctx: Context, opts: { warnDays: number; nodes?: readonly string[] }): Promise<CheckResult> {
  const nodes = opts.nodes ?? (await controlHosts(ctx));
  const read = await Promise.all(nodes.map((n) => readNodeCerts(ctx, n)));
  const now = ctx.clock.now();
  const findings = findingsOf(read, now, opts.warnDays);
  ctx.print(renderCheck(read, findings, now, opts.warnDays));
  const result: CheckResult = {
    warnDays: opts.warnDays,
    checkedAt: new Date(now).toISOString(),
    ok: !findings.some((f) => f.fails),
    nodes: read.map((n) => ({
      ...n,
      servedMatchesDisk: n.served && n.disk ? n.served.fingerprint256 === n.disk.fingerprint256 : null,
      servedDaysLeft: n.served ? daysLeft(n.served.notAfter, now) : null,
    })),
    findings,
  };
  const failing = findings.filter((f) => f.fails);
  if (failing.length) {
    throw new CertsCheckError(`${failing.length} certificate problem(s) on ${ctx.cluster.name}: ${failing.map((f) => f.message).join('; ')}`, {
      context: { cluster: ctx.cluster.name, warnDays: opts.warnDays, check: result },
      hint: failing.some((f) => f.kind === 'unreadable')
        ? 'make the named nodes reachable (SSH and their API endpoint), then check again'
        : `renew them: cookbook k8s.certs.renew --cluster-name ${ctx.cluster.name} --all-control (or --hostname <node>)`,
    });
  }
  return result;
}
