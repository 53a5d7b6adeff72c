// Load-balancer operations (issue 14): keep every HAProxy in front of the API servers in step with the control
// nodes, so that no client of the API notices a control-plane change. A node leaves the LBs before it is
// disrupted (drain on every LB, then no sessions left) and comes back only after its own /readyz passes and
// every LB reports it UP. Its `server` line is edited in the managed block (management `haproxy-config`) or,
// for `external` management, only checked: the run stops (exit 2) printing the exact lines to change. Every
// function is a no-op when the cluster has no load-balancer hosts.
import type { Context } from '../../core/context.js';
import { InputError, TimeoutError } from '../../core/errors.js';
import { type Planned, isPlanned } from '../../core/gate.js';
import { type BackendServer, type Haproxy, HaproxyConfigError, applyChange, blockRefusal, describeChange, readBackend, serverChange } from '../../haproxy/client.js';
import { apiserverPort, lbSettings, loadBalancers, nodeEndpoint, nodeReadyz } from './hosts.js';

export { isControlNode, controlNodes, loadBalancers, nodeEndpoint, nodeReadyz } from './hosts.js';
export { lbPreflight, type LbPreflight } from './preflight.js';

/** How long the LB steps wait (defaults in brackets). */
export interface LbTimeouts {
  /** For a node's own /readyz to pass [10 min]. */
  readyzMs: number;
  /** For every LB to report a server UP after `set server ... state ready` [2 min]. */
  upMs: number;
  /** For a drained server's sessions to end before they are shut down [inventory loadBalancers.drainTimeoutSeconds: 30 s]. */
  sessionsMs: number;
}

/** Defaults of LbTimeouts. */
export const LB_TIMEOUTS: Readonly<LbTimeouts> = Object.freeze({ readyzMs: 10 * 60_000, upMs: 2 * 60_000, sessionsMs: 30_000 });

/** Options of the LB steps: timeouts, and a planned value the step depends on (dry-run: the node is not there yet). */
export interface LbStepOptions {
  timeouts?: Partial<LbTimeouts>;
  need?: unknown;
}

function serverOf(servers: readonly BackendServer[], name: string): BackendServer | undefined {
  return servers.find((s) => s.name === name);
}

/** Each LB's view of one server (undefined where it is not listed). */
async function serverEverywhere(lbs: readonly Haproxy[], name: string): Promise<{ lb: Haproxy; server: BackendServer | undefined }[]> {
  return Promise.all(lbs.map(async (lb) => ({ lb, server: serverOf(await lb.servers(), name) })));
}

/** Sets the node's backend to drain on every LB and waits until no LB has sessions on it (a journaled step). */
export async function backendOut(ctx: Context, nodeName: string, options: LbStepOptions = {}): Promise<true | Planned | undefined> {
  const lbs = await loadBalancers(ctx);
  if (!lbs.length) return undefined;
  const t = { ...LB_TIMEOUTS, sessionsMs: (lbSettings(ctx)?.drainTimeoutSeconds ?? 30) * 1000, ...options.timeouts };
  const out = (s: BackendServer | undefined): boolean => !s || ((s.drain || s.maint) && s.sessions === 0);
  return ctx.step<true, [unknown]>(`take ${nodeName} out of the load balancers`, {
    target: `lb-backend/${nodeName}`,
    needs: [options.need ?? true],
    check: async () => ((await serverEverywhere(lbs, nodeName)).every((v) => out(v.server)) ? true : undefined),
    apply: async (): Promise<true | Planned> => {
      const views = await serverEverywhere(lbs, nodeName);
      const results = await Promise.all(views.map((v) => (v.server && !v.server.drain && !v.server.maint ? v.lb.setState(nodeName, 'drain') : true)));
      const plannedDrain = results.find(isPlanned);
      if (plannedDrain) return plannedDrain;
      try {
        await ctx.waitFor(async () => (await serverEverywhere(lbs, nodeName)).every((v) => out(v.server)), {
          what: `no sessions left on ${nodeName} on ${lbs.map((l) => l.host).join(', ')}`,
          timeoutMs: t.sessionsMs,
          backoff: { initialMs: 200, maxMs: 1000 },
        });
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        // Long-lived clients (watches, keep-alive) never leave by themselves: they are cut and reconnect elsewhere.
        for (const v of await serverEverywhere(lbs, nodeName)) {
          if (!v.server || v.server.sessions === 0) continue;
          ctx.log.warn(`${v.server.sessions} session(s) still on ${nodeName} on ${v.lb.host} after ${Math.round(t.sessionsMs / 1000)} s (loadBalancers.drainTimeoutSeconds): shutting them down; their clients reconnect to another API server`);
          await v.lb.shutdownSessions(nodeName);
        }
      }
      return true;
    },
    verify: async () => (await serverEverywhere(lbs, nodeName)).every((v) => !v.server || v.server.drain || v.server.maint),
  });
}

/** Waits until the node's own endpoint answers /readyz (a journaled step; needs the node to exist in dry-run). */
export async function waitNodeReadyz(ctx: Context, nodeName: string, options: LbStepOptions = {}): Promise<void> {
  const t = { ...LB_TIMEOUTS, ...options.timeouts };
  await ctx.step<true, [unknown]>(`wait /readyz of ${nodeName}`, {
    target: `node/${nodeName}`,
    needs: [options.need ?? true],
    check: async () => ((await nodeReadyz(ctx, await nodeEndpoint(ctx, nodeName, await listedPorts(ctx)))).ready ? true : undefined),
    apply: async () => {
      const endpoint = await nodeEndpoint(ctx, nodeName, await listedPorts(ctx));
      let last = '';
      await ctx.waitFor(
        async () => {
          const r = await nodeReadyz(ctx, endpoint);
          last = r.error?.message ?? '';
          return r.ready;
        },
        { what: `/readyz of ${nodeName} on https://${endpoint.address}:${endpoint.port}`, timeoutMs: t.readyzMs, backoff: { initialMs: 200, maxMs: 2000 }, context: { node: nodeName } },
      ).catch((err: unknown) => {
        if (err instanceof TimeoutError) {
          err.context.lastAnswer = last;
          if (last) err.message += ` (last answer: ${last})`;
        }
        throw err;
      });
      return true;
    },
  });
}

/** Waits for the node's /readyz, sets its backend ready on every LB and waits until every LB reports it UP. */
export async function backendIn(ctx: Context, nodeName: string, options: LbStepOptions = {}): Promise<void> {
  const lbs = await loadBalancers(ctx);
  if (!lbs.length) return;
  const t = { ...LB_TIMEOUTS, ...options.timeouts };
  await waitNodeReadyz(ctx, nodeName, options);
  const listedUp = (s: BackendServer | undefined): boolean => s === undefined || s.up;
  await ctx.step<true, [unknown]>(`put ${nodeName} back into the load balancers`, {
    target: `lb-backend/${nodeName}`,
    needs: [options.need ?? true],
    // Dry-run after a planned backendOut: plan the `set server ... state ready` the real run sends.
    onPlannedNeed: 'assume',
    check: async () => ((await serverEverywhere(lbs, nodeName)).every((v) => listedUp(v.server)) ? true : undefined),
    apply: async (_need, run): Promise<true | Planned> => {
      const views = await serverEverywhere(lbs, nodeName);
      for (const v of views) if (!v.server) ctx.log.warn(`${v.lb.host} does not list ${nodeName}: nothing to put back there`);
      const results = await Promise.all(views.map((v) => (v.server && (run.assumed || v.server.drain || v.server.maint) ? v.lb.setState(nodeName, 'ready') : true)));
      const plannedReady = results.find(isPlanned);
      if (plannedReady) return plannedReady;
      let last: string[] = [];
      await ctx
        .waitFor(
          async () => {
            const now = await serverEverywhere(lbs, nodeName);
            last = now.filter((v) => !listedUp(v.server)).map((v) => `${v.lb.host}: ${v.server!.status}${v.server!.checkStatus ? ` (${v.server!.checkStatus})` : ''}`);
            return last.length === 0;
          },
          { what: `${nodeName} UP on ${lbs.map((l) => l.host).join(', ')}`, timeoutMs: t.upMs, backoff: { initialMs: 200, maxMs: 1000 } },
        )
        .catch((err: unknown) => {
          if (err instanceof TimeoutError) {
            err.context.notUp = last;
            err.message += ` (${last.join('; ')})`;
          }
          throw err;
        });
      return true;
    },
  });
}

/** The ports the LBs' server lines use (the API servers' own port), from the first LB's config. */
async function listedPorts(ctx: Context): Promise<number[]> {
  const lb = lbSettings(ctx);
  const [first] = await loadBalancers(ctx);
  if (!lb || !first) return [];
  return readBackend(await first.readConfig(), lb.backend).servers.map((s) => s.port);
}

/** Makes every LB list (present) or not list the node: managed-block edit + reload, or a check for `external`. */
export async function ensureBackendListed(ctx: Context, nodeName: string, present: boolean, options: LbStepOptions = {}): Promise<void> {
  const lb = lbSettings(ctx);
  const lbs = await loadBalancers(ctx);
  if (!lb || !lbs.length) return;
  const verb = present ? 'list' : 'unlist';
  const changeOn = async (h: Haproxy, assumed = false) => {
    const text = await h.readConfig();
    const view = readBackend(text, lb.backend);
    const ports = view.servers.map((s) => s.port);
    // Dry-run of an addition: the node has no VM (no address) yet; the plan shows the edit with a placeholder.
    const at = assumed ? { address: `${nodeName}.address`, port: ports[0] ?? ctx.cluster.kubernetes.apiserverPort ?? apiserverPort(ctx) } : await nodeEndpoint(ctx, nodeName, ports);
    const spec = present ? { name: nodeName, ...at } : { name: nodeName, address: '', port: 0 };
    const change = serverChange(view, spec, present);
    return { text, view, change, none: change.add.length === 0 && change.remove.length === 0 };
  };
  const needs = [options.need ?? true] as const;
  if (lb.management === 'external') {
    // One check over every LB, so the operator reads every line to change at once; never a write.
    await ctx.step<true, [unknown]>(`check ${nodeName} ${present ? 'listed' : 'unlisted'} on the load balancers`, {
      target: `lb-backend/${nodeName}`,
      needs,
      check: async () => ((await Promise.all(lbs.map((h) => changeOn(h)))).every((c) => c.none) ? true : undefined),
      apply: async (_need, run) => {
        const what = (await Promise.all(lbs.map(async (h) => describeChange(h.host, lb.config, lb.backend, (await changeOn(h, run.assumed && present)).change)))).flat();
        for (const line of what) ctx.print(line);
        throw new InputError(`the load balancers' ${lb.config} ${present ? 'do not list' : 'still list'} control node ${nodeName}, and the inventory says the file is managed outside cluster-cookbooks (loadBalancers.management: external):\n  ${what.join('\n  ')}`, {
          context: { node: nodeName, path: lb.config, changes: what },
          hint: 'make these changes where the file is managed (Puppet, ...), reload HAProxy, then run the same command again: it continues from here',
        });
      },
    });
    return;
  }
  for (const h of lbs) {
    await ctx.step<true, [unknown]>(`${verb} ${nodeName} on ${h.host}`, {
      target: `lb/${h.host}`,
      needs,
      // Dry-run: after a planned drain or join, plan the edit the real run makes.
      onPlannedNeed: 'assume',
      check: async () => ((await changeOn(h)).none ? true : undefined),
      apply: async (_need, run) => {
        const { text, view, change } = await changeOn(h, run.assumed && present);
        const what = describeChange(h.host, lb.config, lb.backend, change);
        const refusal = blockRefusal(view, lb.backend, change);
        if (refusal) {
          throw new HaproxyConfigError(`cannot ${verb} ${nodeName} in ${lb.config} on ${h.host}: ${refusal}`, {
            context: { host: h.host, command: `edit ${lb.config}`, node: nodeName, add: change.add, remove: change.remove },
            hint: `make the change by hand (${what.join('; ')}), or put the backend's control-node server lines between "# BEGIN cluster-cookbooks managed block" and "# END cluster-cookbooks managed block"`,
          });
        }
        ctx.log.info(`${h.host}: ${what.join('; ')}`);
        return h.writeConfig(applyChange(text, view, change), `${verb} ${nodeName}`);
      },
      verify: async () => (await changeOn(h)).none,
    });
  }
}

/**
 * k8s.add-node --role control: once the new node's own /readyz passes, every LB lists it and reports it UP.
 * `joined` is the join step's result (Planned in a dry-run: the node does not exist yet).
 */
export async function addToLoadBalancers(ctx: Context, nodeName: string, joined: unknown, options: Omit<LbStepOptions, 'need'> = {}): Promise<void> {
  if (!(await loadBalancers(ctx)).length) return;
  await waitNodeReadyz(ctx, nodeName, { ...options, need: joined });
  await ensureBackendListed(ctx, nodeName, true, { ...options, need: joined });
  await backendIn(ctx, nodeName, { ...options, need: joined });
}

/** k8s.remove-node --role control: drained on every LB with no sessions left, then unlisted, before the node is touched. */
export async function removeFromLoadBalancers(ctx: Context, nodeName: string, options: LbStepOptions = {}): Promise<void> {
  if (!(await loadBalancers(ctx)).length) return;
  // Managed elsewhere (Puppet): the file must not list the node before anything changes, so the refusal
  // really changed nothing (exit 2); HAProxy drops the server at its next reload, and a running one that still
  // has it is drained below.
  if (lbSettings(ctx)?.management === 'external') await ensureBackendListed(ctx, nodeName, false, options);
  const out = await backendOut(ctx, nodeName, options);
  await ensureBackendListed(ctx, nodeName, false, { ...options, need: out });
}
