// The load-balancer preflight (reads only): every LB answers, its backend lists exactly the control nodes (at
// their addresses), and sees every one of them UP and in service. Each problem is one sentence naming the LB,
// the node and what to change, so an operator can fix it without reading HAProxy's docs.
import type { Context } from '../../core/context.js';
import { InputError, messageOf } from '../../core/errors.js';
import { type BackendServer, type ServerLine, readBackend, renderServerLine } from '../../haproxy/client.js';
import { apiserverPort, controlNodes, lbSettings, loadBalancers } from './hosts.js';

/** What the LB preflight saw on each LB, and every problem it found. */
export interface LbPreflight {
  lbs: { host: string; listed: ServerLine[]; servers: BackendServer[] }[];
  problems: string[];
}

/** Options of the LB preflight. */
export interface LbPreflightOptions {
  /** Nodes an operation in progress is moving (a removal being finished): not required to be listed or UP. */
  except?: readonly string[];
  /** The control nodes, when the caller has read them already. */
  controls?: readonly string[];
}

/** Reads every LB and lists what is wrong (never throws for a problem; see lbPreflight). */
export async function lbProblems(ctx: Context, options: LbPreflightOptions = {}): Promise<LbPreflight> {
  const out: LbPreflight = { lbs: [], problems: [] };
  const lb = lbSettings(ctx);
  const lbs = await loadBalancers(ctx);
  if (!lb || !lbs.length) return out;
  const except = new Set(options.except ?? []);
  const controls = [...(options.controls ?? (await controlNodes(ctx)))];
  const addresses = new Map((await (await ctx.remote()).resolveHosts(controls)).map((r) => [r.host, r.address]));
  const { backend, config, socket } = lb;
  for (const h of lbs) {
    let text: string;
    let servers: BackendServer[];
    try {
      [text, servers] = await Promise.all([h.readConfig(), h.servers()]);
    } catch (err) {
      out.problems.push(`load balancer ${h.host} is unreachable or its HAProxy does not answer: ${messageOf(err).split('\n')[0]}; bring it back (or fix its SSH access and admin socket ${socket}) before changing the control plane`);
      continue;
    }
    const view = readBackend(text, backend);
    out.lbs.push({ host: h.host, listed: view.servers, servers });
    if (!view.found) {
      out.problems.push(`${h.host}: ${config} has no "backend ${backend}" section; add it (one "server <node> <address>:<port>" line per control node) or set kubernetes.loadBalancers.backend`);
      continue;
    }
    if (lb.management === 'haproxy-config') {
      // The edit reloads HAProxy with the whole file: a file that does not load now would fail the reload later.
      const check = await h.checkConfig();
      if (!check.ok) out.problems.push(`${h.host}: ${config} does not pass haproxy -c (${check.alerts.join('; ') || 'no message'}); fix the file on ${h.host} first`);
    }
    if (lb.management === 'haproxy-config' && (view.problem || !view.block)) {
      out.problems.push(`${h.host}: ${view.problem ? `the managed block of ${config} is malformed (${view.problem})` : `backend ${backend} in ${config} has no managed block`}; put the control nodes' server lines between "# BEGIN cluster-cookbooks managed block" and "# END cluster-cookbooks managed block"`);
    }
    const port = view.servers[0]?.port ?? ctx.cluster.kubernetes.apiserverPort ?? apiserverPort(ctx);
    for (const c of controls) {
      if (except.has(c)) continue;
      const lines = view.servers.filter((s) => s.name === c);
      const want = renderServerLine({ name: c, address: addresses.get(c)!, port });
      if (!lines.length) {
        out.problems.push(`${h.host} does not list control node ${c}: add "${want}" to backend ${backend} in ${config} and reload HAProxy`);
        continue;
      }
      const wrong = lines.filter((s) => s.address !== addresses.get(c));
      if (wrong.length) out.problems.push(`${h.host} lists control node ${c} at ${wrong.map((s) => `${s.address}:${s.port}`).join(', ')}, but it is at ${addresses.get(c)}: replace "${wrong[0]!.text}" by "${want}" in ${config} and reload HAProxy`);
      const s = servers.find((x) => x.name === c);
      if (!s) out.problems.push(`${h.host}'s ${config} lists ${c} but the running HAProxy does not: check the file (haproxy -c -f ${config}) and reload HAProxy on ${h.host}`);
      else if (s.drain || s.maint) out.problems.push(`${h.host} has control node ${c} ${s.maint ? 'in maintenance' : 'drained'} (an interrupted run or an operator left it so): when its API server is healthy, run on ${h.host}: echo "set server ${backend}/${c} state ready" | socat stdio ${socket}`);
      else if (!s.up) out.problems.push(`${h.host} sees control node ${c} ${s.status}${s.checkStatus ? ` (health check ${s.checkStatus})` : ''}: its API server's /readyz fails through the LB; fix the API server on ${c} first`);
    }
    for (const s of view.servers) {
      if (controls.includes(s.name) || except.has(s.name)) continue;
      out.problems.push(`${h.host} lists ${s.name}, which is no control node of cluster ${ctx.cluster.name} (no such Node): remove "${s.text}" from backend ${backend} in ${config} and reload HAProxy`);
    }
  }
  return out;
}

/** Every LB reachable, every remaining backend UP, each config lists exactly the control nodes; else InputError (exit 2). */
export async function lbPreflight(ctx: Context, options: LbPreflightOptions = {}): Promise<LbPreflight> {
  const r = await lbProblems(ctx, options);
  if (r.problems.length) {
    throw new InputError(`the load balancers are not in step with the control plane:\n  - ${r.problems.join('\n  - ')}`, {
      context: { cluster: ctx.cluster.name, problems: r.problems },
      hint: 'fix what is listed above, then run the same command again (nothing was changed)',
    });
  }
  return r;
}
