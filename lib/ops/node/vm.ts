// The VM half of a node's life: its flavor, image and network checked against OpenStack before anything is
// created, then created, waited ACTIVE and its SSH host key trusted from the console log (never on first use);
// and its deletion, waited until OpenStack no longer lists it.
import type { Context } from '../../core/context.js';
import { InputError, OpenStackError } from '../../core/errors.js';
import { type Planned, mapUnlessPlanned, unlessPlanned } from '../../core/gate.js';
import { getRole, roleOf } from '../../inventory/naming.js';
import { isNodeReady } from '../../k8s/nodes.js';
import { OpenStackServerFaultError } from '../../openstack/errors.js';
import type { Server } from '../../openstack/index.js';
import { closeNames } from './inventory.js';
import { type NodeTimeouts, nodeTimeouts } from './timeouts.js';

/** Overrides of the role's VM settings. */
export interface VmOverrides {
  flavor?: string;
  image?: string;
  network?: string;
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

/** Checks the VM settings unless the VM exists already (a resumed run): reads only. */
export async function checkVmSettingsUnlessCreated(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}): Promise<void> {
  if (!(await (await ctx.openstack()).findServer(hostname))) await checkVmSettings(ctx, roleName, overrides);
}

/**
 * Ensures a VM exists for the host, is ACTIVE and reachable over SSH with its host key verified against the
 * console log (cloud-init's fingerprints; never trust on first use).
 */
export async function ensureVm(ctx: Context, roleName: string, hostname: string, overrides: VmOverrides = {}, timeouts: Partial<NodeTimeouts> = {}): Promise<Server | Planned> {
  const t = nodeTimeouts(timeouts);
  const role = getRole(ctx.cluster, roleName);
  const os = await ctx.openstack();
  const sg = role.serverGroup;
  const group = sg
    ? await ctx.step(`ensure server group ${sg.name}`, {
        target: `server-group/${sg.name}`,
        check: async () => {
          const g = await os.findServerGroup(sg.name);
          return g && g.policy === sg.policy ? g : undefined;
        },
        apply: () => os.ensureServerGroup(sg.name, sg.policy),
      })
    : undefined;
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
    needs: [created],
    check: async () => {
      const s = await os.findServer(hostname);
      return s?.status === 'ACTIVE' ? s : undefined;
    },
    apply: async (s) => {
      let r: Server | undefined;
      try {
        r = await os.waitForStatus(s, 'ACTIVE', { timeoutMs: t.vmActiveMs });
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
  await ctx.step<unknown, [Server]>(`verify SSH host key of ${hostname}`, {
    target: `host/${hostname}`,
    needs: [active],
    check: async () => {
      try {
        return await remote.connect(hostname, { timeoutMs: t.sshConnectMs });
      } catch {
        return undefined;
      }
    },
    apply: async (s) => {
      // cloud-init prints the fingerprints late in the first boot: wait until the console shows them.
      const consoleText = await ctx.waitFor(
        async () => {
          const text = await os.getConsoleOutput(s);
          return /BEGIN SSH HOST KEY FINGERPRINTS[\s\S]*END SSH HOST KEY FINGERPRINTS/.test(text) ? text : undefined;
        },
        { what: `SSH host key fingerprints in the console log of ${hostname}`, timeoutMs: t.hostKeysMs, backoff: { initialMs: 500, maxMs: 5000 } },
      );
      return remote.trustFromConsoleLog(hostname, consoleText);
    },
  });
  return active;
}

/**
 * Deletes a host's VM as the journaled step `delete VM <host>` (skipped when there is none) and waits until
 * OpenStack no longer lists it. In dry-run the wait stops planning (the deletion is only planned).
 */
export async function deleteVmStep(ctx: Context, hostname: string, timeouts: Partial<NodeTimeouts> = {}): Promise<unknown> {
  const t = nodeTimeouts(timeouts);
  const os = await ctx.openstack();
  return ctx.step(`delete VM ${hostname}`, {
    target: `server/${hostname}`,
    check: async () => ((await os.findServer(hostname)) ? undefined : true),
    apply: async () => {
      const server = await os.findServer(hostname);
      if (!server) return true;
      await os.deleteServer(server);
      await ctx.waitFor(async () => (await os.findServer(hostname)) === undefined, { what: `VM ${hostname} deleted`, timeoutMs: t.vmDeleteMs, backoff: { initialMs: 250, maxMs: 3000 } });
      return true;
    },
  });
}

/** A VM as a cookbook's result shows it: 'planned' in dry-run. */
export function serverSummary(server: Server | Planned): 'planned' | Pick<Server, 'id' | 'status' | 'addresses'> {
  return unlessPlanned(
    mapUnlessPlanned(server, (s) => ({ id: s.id, status: s.status, addresses: s.addresses })),
    'planned' as const,
  );
}

/**
 * What deleting a host's VM would do, for its confirmation: refused (exit 2) when the host is a Ready
 * Kubernetes node, unless `force` (k8s.remove-node removes a node properly). Reads only.
 */
export async function vmDeletion(ctx: Context, hostname: string, force: boolean): Promise<{ details: string[]; nodeLeft: boolean }> {
  const node = await (await ctx.k8s()).getNode(hostname);
  if (node && isNodeReady(node) && !force) {
    const role = roleOf(ctx.cluster, hostname);
    throw new InputError(`${hostname} is a Ready Kubernetes node; refusing to delete its VM`, {
      context: { cluster: ctx.cluster.name, hostname, role },
      hint: `remove it properly with: cookbook k8s.remove-node --cluster-name ${ctx.cluster.name} --role ${role} --hostname ${hostname} (or pass --force to delete the VM anyway)`,
    });
  }
  const server = await (await ctx.openstack()).findServer(hostname);
  return {
    nodeLeft: node !== undefined,
    details: [
      server ? `delete server ${server.name} (${server.id}, ${server.status}): its disk is gone for good` : `no VM named ${hostname} exists: nothing to delete`,
      ...(node ? [`the Node ${hostname} stays (${isNodeReady(node) ? 'Ready' : 'not Ready'}); remove it with k8s.remove-node`] : []),
    ],
  };
}
