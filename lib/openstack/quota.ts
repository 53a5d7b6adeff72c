// Compute headroom: what the project's quotas (instances, cores, RAM) and a server group's member limit still
// allow, read before anything is created, so a cookbook that adds several VMs can refuse up front instead of
// failing half-way with a 403. Nova reports quotas two ways: GET /os-quota-sets/{project}/detail (limit and
// in_use per resource) and GET /limits (the absolute limits the openstack CLI's `limits show --absolute`
// prints); both are read-only.
import type { Gate } from '../core/gate.js';
import type { OpenStackHttp } from './http.js';
import type { ComputeQuotas, Flavor, Image, Server, ServerGroup } from './types.js';

/** Nova's absolute limits (GET /limits), the fields this tool uses; -1 means unlimited. */
export interface AbsoluteLimits {
  maxTotalInstances: number;
  maxTotalCores: number;
  maxTotalRAMSize: number;
  maxServerGroups?: number;
  maxServerGroupMembers?: number;
  totalInstancesUsed: number;
  totalCoresUsed: number;
  totalRAMUsed: number;
  totalServerGroupsUsed?: number;
  [k: string]: number | undefined;
}

/** One quota: its limit (-1: unlimited) and what is in use. */
export interface QuotaRow {
  limit: number;
  inUse: number;
}

/** The compute quotas a new server counts against, plus the per-group member limit. */
export interface ComputeHeadroom {
  instances: QuotaRow;
  cores: QuotaRow;
  /** MiB. */
  ram: QuotaRow;
  /** Members one server group may have (-1: unlimited). */
  serverGroupMembers: number;
}

/** The three quotas a server counts against, by their Nova names. */
export const COMPUTE_QUOTAS = ['instances', 'cores', 'ram'] as const;

/** One of the compute quotas a server counts against. */
export type ComputeQuotaName = (typeof COMPUTE_QUOTAS)[number];

/** Reads Nova's absolute limits (GET /limits). Reads only. */
export async function fetchAbsoluteLimits(http: OpenStackHttp, gate: Gate): Promise<AbsoluteLimits> {
  const res = await gate.read(() => http.call<{ limits: { absolute: AbsoluteLimits } }>('compute', 'GET', '/limits', { what: 'read compute limits' }));
  return res.body.limits.absolute;
}

/** The headroom from a quota set with usage (GET /os-quota-sets/{project}/detail). */
export function headroomFromQuotas(q: ComputeQuotas): ComputeHeadroom {
  const row = (r: { limit: number; in_use: number } | undefined): QuotaRow => ({ limit: r?.limit ?? -1, inUse: r?.in_use ?? 0 });
  return { instances: row(q.instances), cores: row(q.cores), ram: row(q.ram), serverGroupMembers: q.server_group_members?.limit ?? -1 };
}

/** The headroom from absolute limits (GET /limits), for projects whose policy hides the quota set. */
export function headroomFromLimits(l: AbsoluteLimits): ComputeHeadroom {
  return {
    instances: { limit: l.maxTotalInstances, inUse: l.totalInstancesUsed },
    cores: { limit: l.maxTotalCores, inUse: l.totalCoresUsed },
    ram: { limit: l.maxTotalRAMSize, inUse: l.totalRAMUsed },
    serverGroupMembers: l.maxServerGroupMembers ?? -1,
  };
}

/** What is left of a quota (Infinity when unlimited). */
export function quotaLeft(row: QuotaRow): number {
  return row.limit < 0 ? Infinity : Math.max(0, row.limit - row.inUse);
}

/** Members a server group may still take under the member limit (Infinity when unlimited). */
export function serverGroupRoom(group: ServerGroup | undefined, memberLimit: number): number {
  if (memberLimit < 0) return Infinity;
  return Math.max(0, memberLimit - (group?.members.length ?? 0));
}

/** What a server is: its image and flavor by name, and the cores and RAM it counts against the quotas. */
export interface ServerSpec {
  image: string | undefined;
  flavor: string | undefined;
  vcpus: number;
  ram: number;
}

/**
 * The image and flavor of a server by name. Nova before microversion 2.47 gives only the flavor's id, from
 * 2.47 the flavor itself (original_name); images are always by id. Unknown ids give undefined (a deleted
 * image or flavor is still "not the target").
 */
export function serverSpec(server: Server, images: readonly Image[], flavors: readonly Flavor[]): ServerSpec {
  const imageId = server.image === '' ? undefined : server.image.id;
  const image = images.find((i) => i.id === imageId)?.name;
  const f = server.flavor;
  const byId = typeof f.id === 'string' ? flavors.find((x) => x.id === f.id) : undefined;
  const name = typeof f.original_name === 'string' ? f.original_name : byId?.name;
  const known = byId ?? flavors.find((x) => x.name === name);
  return {
    image,
    flavor: name,
    vcpus: typeof f.vcpus === 'number' ? f.vcpus : (known?.vcpus ?? 0),
    ram: typeof f.ram === 'number' ? f.ram : (known?.ram ?? 0),
  };
}
