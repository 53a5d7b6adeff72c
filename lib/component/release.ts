// Release records, like Helm's storage: one Secret per revision in the component's namespace, labelled
// owner/name/status/version, holding the gzipped JSON record (rendered objects and manifest, values, repository
// URL and SHA, who, when, why, test results). The pure parts (encoding, revision selection) live here.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { KObject } from './objects.js';

/** Revision states (Helm's, with pending for any operation in progress). */
export type ReleaseStatus = 'pending' | 'deployed' | 'superseded' | 'failed';

/** One test's result. */
export interface TestResult {
  name: string;
  file?: string;
  ok: boolean;
  skipped?: boolean;
  durationMs?: number;
}

/** One revision of a component. */
export interface Release {
  component: string;
  revision: number;
  status: ReleaseStatus;
  namespace: string;
  repo: { url: string; branch?: string; sha: string };
  values: Record<string, unknown>;
  manifest: string;
  /** The objects exactly as applied (stamped), so a rollback re-applies them without the repository. */
  objects: KObject[];
  who: string;
  when: string;
  reason?: string;
  runId: string;
  /** "Install", "Upgrade", "Rollback to 2", and how it ended. */
  description: string;
  tests?: { passed: boolean; results: TestResult[] };
  /** When it was rolled back from, or resolved as a dead run's leftover: what happened. */
  notes?: string[];
}

/** Label values on every record Secret. */
export const RELEASE_OWNER = 'cluster-cookbooks';
/** The Secret type of release records. */
export const RELEASE_TYPE = 'cluster-cookbooks.org/release.v1';

/** The record Secret's name for a revision. */
export function releaseSecretName(component: string, revision: number): string {
  return `cc.release.v1.${component}.v${revision}`;
}

/** Labels of a record Secret. */
export function releaseLabels(r: Pick<Release, 'component' | 'status' | 'revision'>): Record<string, string> {
  return { owner: RELEASE_OWNER, name: r.component, status: r.status, version: String(r.revision) };
}

/** The record as a Secret (data.release = gzipped JSON, base64 as Secret data always is). */
export function encodeRelease(r: Release): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: releaseSecretName(r.component, r.revision), namespace: r.namespace, labels: releaseLabels(r) },
    type: RELEASE_TYPE,
    data: { release: gzipSync(Buffer.from(JSON.stringify(r), 'utf8')).toString('base64') },
  };
}

/** Reads a record Secret back (undefined when it is not one of ours). */
export function decodeRelease(secret: { data?: Record<string, string>; metadata?: { labels?: Record<string, string> } }): Release | undefined {
  const raw = secret.data?.release;
  if (!raw || secret.metadata?.labels?.owner !== RELEASE_OWNER) return undefined;
  const r = JSON.parse(gunzipSync(Buffer.from(raw, 'base64')).toString('utf8')) as Release;
  // The label is what status changes patch first; it wins over the body when they disagree.
  const status = secret.metadata.labels.status as ReleaseStatus | undefined;
  return status ? { ...r, status } : r;
}

/** The highest revision (0 when there is none). */
export function latestRevision(releases: readonly Release[]): number {
  return releases.reduce((m, r) => Math.max(m, r.revision), 0);
}

/** The revision a deployment currently stands on: the highest `deployed` one. */
export function currentRelease(releases: readonly Release[]): Release | undefined {
  return [...releases].filter((r) => r.status === 'deployed').sort((a, b) => b.revision - a.revision)[0];
}

/**
 * The last good revision below `below` (default: any): the highest one that was `deployed` or `superseded`.
 * Helm's rollback takes current-1 even when that one failed; this never picks a failed or pending revision.
 */
export function lastGoodRelease(releases: readonly Release[], below = Number.POSITIVE_INFINITY): Release | undefined {
  return [...releases].filter((r) => r.revision < below && (r.status === 'deployed' || r.status === 'superseded')).sort((a, b) => b.revision - a.revision)[0];
}

/** The rollback target: the revision asked for, or the last good one below the current. Undefined when none. */
export function rollbackTarget(releases: readonly Release[], toRevision?: number): Release | undefined {
  if (toRevision !== undefined) return releases.find((r) => r.revision === toRevision);
  const current = currentRelease(releases);
  return lastGoodRelease(releases, current ? current.revision : Number.POSITIVE_INFINITY);
}

/** Revisions left `pending` by runs other than `runId` (dead runs, since we hold the cluster lock). */
export function strandedPending(releases: readonly Release[], runId: string, resumedRunId?: string): Release[] {
  return releases.filter((r) => r.status === 'pending' && r.runId !== runId && r.runId !== resumedRunId);
}
