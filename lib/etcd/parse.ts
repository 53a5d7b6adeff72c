// Pure functions over etcdctl's JSON output (-w json) and the quorum arithmetic the cookbooks gate on.
// etcd IDs are uint64: JSON.parse would round them, so they are read as strings and shown in hex.

/** One member as `member list` shows it. */
export interface EtcdMember {
  /** Hex id, as `member remove/promote` take it. */
  id: string;
  /** Empty until the member has started once. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** One endpoint's status (`endpoint status`). */
export interface EndpointStatus {
  endpoint: string;
  memberId: string;
  leaderId: string;
  version: string;
  dbSize: number;
  raftIndex: number;
  raftTerm: number;
  revision: number;
  isLearner: boolean;
  errors: string[];
}

/** One endpoint's health (`endpoint health`). */
export interface EndpointHealth {
  endpoint: string;
  health: boolean;
  took: string;
  error?: string;
}

/** Snapshot verification (`snapshot status`). */
export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** JSON.parse with every integer of 16+ digits kept as a string (uint64 ids). */
export function parseEtcdJson(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

/** A decimal (or already hex) uint64 id in etcdctl's hex form. */
export function hexId(id: unknown): string {
  if (id === undefined || id === null || id === '') return '';
  return BigInt(String(id)).toString(16);
}

/** Members from `member list -w json`. */
export function parseMemberList(text: string): EtcdMember[] {
  const doc = parseEtcdJson(text) as { members?: { ID: unknown; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }[] };
  return (doc.members ?? []).map((m) => ({ id: hexId(m.ID), name: m.name ?? '', peerUrls: m.peerURLs ?? [], clientUrls: m.clientURLs ?? [], isLearner: m.isLearner ?? false }));
}

/** Statuses from `endpoint status -w json` (endpoints that did not answer are absent). */
export function parseEndpointStatus(text: string): EndpointStatus[] {
  if (!text.trim()) return [];
  const doc = parseEtcdJson(text) as { Endpoint: string; Status: { header?: { member_id?: unknown; revision?: unknown }; version?: string; dbSize?: number; leader?: unknown; raftIndex?: number; raftTerm?: number; isLearner?: boolean; errors?: string[] } }[];
  return doc.map((e) => ({
    endpoint: e.Endpoint,
    memberId: hexId(e.Status.header?.member_id),
    leaderId: hexId(e.Status.leader),
    version: e.Status.version ?? '',
    dbSize: e.Status.dbSize ?? 0,
    raftIndex: e.Status.raftIndex ?? 0,
    raftTerm: e.Status.raftTerm ?? 0,
    revision: Number(e.Status.header?.revision ?? 0),
    isLearner: e.Status.isLearner ?? false,
    errors: e.Status.errors ?? [],
  }));
}

/** Health from `endpoint health -w json`. */
export function parseEndpointHealth(text: string): EndpointHealth[] {
  if (!text.trim()) return [];
  return (JSON.parse(text) as EndpointHealth[]).map((h) => ({ endpoint: h.endpoint, health: h.health === true, took: h.took, ...(h.error ? { error: h.error } : {}) }));
}

/** `snapshot status -w json`. */
export function parseSnapshotStatus(text: string): SnapshotStatus {
  const s = JSON.parse(text) as SnapshotStatus;
  return { hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize };
}

/** The values `member add` prints for the new member (ETCD_NAME, ETCD_INITIAL_CLUSTER, ...). */
export function parseMemberAdd(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^(ETCD_[A-Z_]+)="?([^"\n]*)"?$/gm)) out[m[1]!] = m[2]!;
  const id = /Member ([0-9a-f]+) added/.exec(text);
  if (id) out.MEMBER_ID = id[1]!;
  return out;
}

/** Votes needed for a cluster of `voters` members. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** How many more voter failures the cluster survives (negative: it has lost quorum). */
export function failureTolerance(voters: number, healthyVoters: number): number {
  return healthyVoters - quorumOf(voters);
}

/**
 * Whether removing one voter keeps the cluster able to survive what it survives today minus one (and never
 * below zero): in a 3-member cluster any other unhealthy member makes the removal unsafe.
 */
export function removalKeepsQuorum(voters: number, healthyVoters: number, removedIsHealthy: boolean): { ok: boolean; today: number; after: number } {
  const today = failureTolerance(voters, healthyVoters);
  const after = failureTolerance(voters - 1, healthyVoters - (removedIsHealthy ? 1 : 0));
  return { ok: voters > 1 && after >= Math.max(0, today - 1), today, after };
}

/** The URL `template` (an existing member's) with its host replaced: same scheme and port for the new member. */
export function urlFor(template: string, host: string): string {
  const u = new URL(template);
  u.hostname = host;
  return u.toString().replace(/\/$/, '');
}
