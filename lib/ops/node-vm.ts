// The VM half of a node's life: its flavor, image and network checked against OpenStack before anything is
// created, then created, waited ACTIVE and its SSH host key trusted from the console log (never on first use).
import { closest, distance } from 'fastest-levenshtein';
import type { Context } from '../core/context.js';
import { InputError, OpenStackError } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { getRole } from '../inventory/naming.js';
import { OpenStackServerFaultError } from '../openstack/errors.js';
import type { Server } from '../openstack/index.js';

/** Overrides of the role's VM settings. */
export interface VmOverrides {
  flavor?: string;
  image?: string;
  network?: string;
}

/** Up to three names close to `name` (edit distance, or one containing the other), for "did you mean". */
export function closeNames(name: string, known: readonly string[]): string[] {
  const scored = [...new Set(known)]
    .map((k) => ({ k, d: distance(name, k) - (k.includes(name) || name.includes(k) ? 3 : 0) }))
    .filter(({ k, d }) => d <= Math.max(2, Math.floor(k.length / 3)))
    .sort((a, b) => a.d - b.d)
    .map(({ k }) => k);
  if (scored.length === 0 && known.length > 0) {
    const c = closest(name, [...known]);
    if (distance(name, c) <= Math.max(3, Math.floor(name.length / 2))) scored.push(c);
  }
  return scored.slice(0, 3);
}

/**
 * Checks the flavor, image and network a new VM of `roleName` would get (overrides, else the role's) against
 * OpenStack, before anything is created: an unknown one is bad input (exit 2) naming the option and the
 * closest names. Reads only.
 */
export async function checkVmSettings(ctx: Context, roleName: string, overrides: VmOverrides = {}): Promise<void> {
  const role = getRole(ctx.cluster, roleName);
  const os = await ctx.openstack();
  const wanted = { flavor: overrides.flavor ?? role.flavor, image: overrides.image ?? role.image, network: overrides.network ?? role.network };
  const [flavor, image, network] = await Promise.all([os.findFlavor(wanted.flavor), os.findImage(wanted.image), os.findNetwork(wanted.network)]);
  const missing: { what: 'flavor' | 'image' | 'network'; name: string; known?: string[] }[] = [];
  if (!flavor) missing.push({ what: 'flavor', name: wanted.flavor, known: (await os.listFlavors()).map((f) => f.name) });
  if (!image) missing.push({ what: 'image', name: wanted.image, known: (await os.listImages()).map((i) => i.name) });
  if (!network) missing.push({ what: 'network', name: wanted.network });
  if (missing.length === 0) return;
  const parts = missing.map((m) => {
    const from = overrides[m.what] !== undefined ? `--${m.what}` : `role ${roleName}'s ${m.what} (inventory)`;
    const close = m.known ? closeNames(m.name, m.known) : [];
    return `${from} "${m.name}" does not exist in OpenStack${close.length ? ` (did you mean ${close.map((c) => `"${c}"`).join(', ')}?)` : ''}`;
  });
  throw new InputError(`cannot create a ${roleName} VM: ${parts.join('; ')}`, {
    context: { cluster: ctx.cluster.name, role: roleName, missing: missing.map((m) => ({ [m.what]: m.name, suggestions: m.known ? closeNames(m.name, m.known) : [] })) },
    hint: `list what exists with: openstack flavor list / openstack image list / openstack network list, then pass a valid ${missing.map((m) => `--${m.what}`).join(', ')}`,
  });
}

/**
 * Ensures a VM exists for the host, is ACTIVE and reachable over SSH with its host key verified against the
 * console log (cloud-init's fingerprints; never trust on first use).
 */
export async function ensureVm(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}): Promise<Server | Planned> {
  const role = getRole(ctx.cluster, roleName);
  const os = await ctx.openstack();
  let group: unknown;
  if (role.serverGroup) {
    const sg = role.serverGroup;
    group = await ctx.step(`ensure server group ${sg.name}`, {
      target: `server-group/${sg.name}`,
      check: async () => {
        const g = await os.findServerGroup(sg.name);
        return g && g.policy === sg.policy ? g : undefined;
      },
      apply: () => os.ensureServerGroup(sg.name, sg.policy),
    });
  }
  const created = await ctx.step(`create VM ${hostname}`, {
    target: `server/${hostname}`,
    check: async () => (await os.findServer(hostname)) ?? undefined,
    apply: () =>
      os.createServer({
        name: hostname,
        flavor: overrides.flavor ?? role.flavor,
        image: overrides.image ?? role.image,
        network: overrides.network ?? role.network,
        securityGroups: role.securityGroups,
        serverGroup: group as never,
        metadata: { ...role.metadata, 'cluster-cookbooks:cluster': ctx.cluster.name, 'cluster-cookbooks:role': roleName },
      }),
  });
  const active = await ctx.step(`wait VM ${hostname} ACTIVE`, {
    target: `server/${hostname}`,
    check: async () => {
      const s = isPlanned(created) ? undefined : await os.findServer(hostname);
      return s?.status === 'ACTIVE' ? s : undefined;
    },
    apply: async () => {
      const s = ctx.need(created, `VM ${hostname}`);
      let r: Server | undefined;
      try {
        r = await os.waitForStatus(s, 'ACTIVE', { timeoutMs: 15 * 60_000 });
      } catch (err) {
        if (!(err instanceof OpenStackServerFaultError)) throw err;
        // The resume would meet the same failed VM again: say exactly how to get past it.
        throw new OpenStackServerFaultError(err.message, {
          context: { ...err.context, hostname, cluster: ctx.cluster.name },
          cause: err,
          hint: `delete the failed VM with: cookbook vm.delete --cluster-name ${ctx.cluster.name} --hostname ${hostname}, then run the same ${ctx.cookbook} command again (it resumes and creates ${hostname} anew); if it fails again, give the server id to the cloud admins`,
        });
      }
      if (!r) {
        throw new OpenStackError(`VM ${hostname} (${s.id}) disappeared while it was building`, {
          context: { cluster: ctx.cluster.name, hostname, server: s.id },
          hint: `someone or something deleted it (look at the project's activity); run the same ${ctx.cookbook} command again to create it anew`,
        });
      }
      return r;
    },
  });
  const remote = await ctx.remote();
  await ctx.step<unknown>(`verify SSH host key of ${hostname}`, {
    target: `host/${hostname}`,
    check: async () => {
      if (isPlanned(active)) return undefined;
      try {
        return await remote.connect(hostname, { timeoutMs: 10_000 });
      } catch {
        return undefined;
      }
    },
    apply: async () => {
      const s = ctx.need(active, `VM ${hostname}`);
      // cloud-init prints the fingerprints late in the first boot: wait until the console shows them.
      const consoleText = await ctx.waitFor(
        async () => {
          const text = await os.getConsoleOutput(s);
          return /BEGIN SSH HOST KEY FINGERPRINTS[\s\S]*END SSH HOST KEY FINGERPRINTS/.test(text) ? text : undefined;
        },
        { what: `SSH host key fingerprints in the console log of ${hostname}`, timeoutMs: 10 * 60_000, backoff: { initialMs: 500, maxMs: 5000 } },
      );
      return remote.trustFromConsoleLog(hostname, consoleText);
    },
  });
  return active;
}
