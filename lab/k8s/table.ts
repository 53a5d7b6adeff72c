// Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which `kubectl get` asks for:
// the usual columns for nodes, pods, namespaces and workloads, NAME/AGE for everything else.
import { nodeReadyStatus, type KObject } from './types.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  cell: (o: KObject) => string | number;
}

/** Go's duration.HumanDuration, as AGE columns show it. */
export function humanAge(fromIso: string | undefined, now = Date.now()): string {
  if (!fromIso) return '<unknown>';
  const seconds = Math.floor((now - Date.parse(fromIso)) / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  return years < 8 ? `${years}y${Math.floor(hours / 24) % 365}d` : `${years}y`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name };
const age: Column = { name: 'Age', type: 'string', cell: (o) => humanAge(o.metadata.creationTimestamp) };

function podStatus(p: KObject): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  const waiting = (p.status?.containerStatuses ?? []).find((c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason);
  if (waiting) return waiting.state.waiting.reason;
  return p.status?.phase ?? 'Pending';
}

const columns: Record<string, Column[]> = {
  Node: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: (n) => {
        const r = nodeReadyStatus(n);
        const s = r === 'True' ? 'Ready' : r === undefined ? 'Unknown' : 'NotReady';
        return n.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
      },
    },
    {
      name: 'Roles',
      type: 'string',
      cell: (n) =>
        Object.keys(n.metadata.labels ?? {})
          .filter((k) => k.startsWith('node-role.kubernetes.io/'))
          .map((k) => k.slice('node-role.kubernetes.io/'.length))
          .join(',') || '<none>',
    },
    age,
    { name: 'Version', type: 'string', cell: (n) => n.status?.nodeInfo?.kubeletVersion ?? '' },
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (n) => n.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address ?? '<none>' },
  ],
  Pod: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (p) => `${(p.status?.containerStatuses ?? []).filter((c: { ready?: boolean }) => c.ready).length}/${(p.spec?.containers ?? []).length}`,
    },
    { name: 'Status', type: 'string', cell: podStatus },
    { name: 'Restarts', type: 'string', cell: (p) => String((p.status?.containerStatuses ?? []).reduce((a: number, c: { restartCount?: number }) => a + (c.restartCount ?? 0), 0)) },
    age,
    { name: 'IP', type: 'string', priority: 1, cell: (p) => p.status?.podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (p) => p.spec?.nodeName ?? '<none>' },
  ],
  Namespace: [name, { name: 'Status', type: 'string', cell: (n) => n.status?.phase ?? '' }, age],
  Deployment: [
    name,
    { name: 'Ready', type: 'string', cell: (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}` },
    { name: 'Up-to-date', type: 'integer', cell: (d) => d.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', cell: (d) => d.status?.availableReplicas ?? 0 },
    age,
  ],
  StatefulSet: [name, { name: 'Ready', type: 'string', cell: (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}` }, age],
  DaemonSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (d) => d.status?.desiredNumberScheduled ?? 0 },
    { name: 'Current', type: 'integer', cell: (d) => d.status?.currentNumberScheduled ?? 0 },
    { name: 'Ready', type: 'integer', cell: (d) => d.status?.numberReady ?? 0 },
    { name: 'Up-to-date', type: 'integer', cell: (d) => d.status?.updatedNumberScheduled ?? 0 },
    { name: 'Available', type: 'integer', cell: (d) => d.status?.numberAvailable ?? 0 },
    age,
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (d) => d.spec?.replicas ?? 0 },
    { name: 'Current', type: 'integer', cell: (d) => d.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', cell: (d) => d.status?.readyReplicas ?? 0 },
    age,
  ],
  PodDisruptionBudget: [
    name,
    { name: 'Min Available', type: 'string', cell: (d) => (d.spec?.minAvailable ?? 'N/A').toString() },
    { name: 'Max Unavailable', type: 'string', cell: (d) => (d.spec?.maxUnavailable ?? 'N/A').toString() },
    { name: 'Allowed Disruptions', type: 'integer', cell: (d) => d.status?.disruptionsAllowed ?? 0 },
    age,
  ],
};

/** True when the Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept.split(',')[0] ?? '');
}

/** A meta.k8s.io/v1 Table of objects of one kind. */
export function toTable(kind: string, objects: KObject[], listMeta: Record<string, unknown>, includeObject: string | null): object {
  const cols = columns[kind] ?? [name, age];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: '', priority: c.priority ?? 0 })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o)),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? undefined
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

