// Defaulting and validation, the part of the API server's type strategies that clients notice: defaults
// they read back (replicas, strategy, restartPolicy, tolerations), and 422 Invalid for what a real server
// refuses (names, labels, selector/template mismatches, immutable fields, PDB with both bounds).
import { invalid } from './errors.js';
import { parseQuantity } from './names.js';
import { fromLabelSelectorObject, matchLabels, type LabelSelectorObject } from './selectors.js';
import { jsonEqual, type KObject } from './types.js';
import type { ResourceSpec } from './resources.js';
import { defaultCrd, validateCrd, validateCustomResource } from './crds.js';
import { defaultJob, validateJob } from './controllers/jobs.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

type Cause = { field: string; message: string; reason?: string };

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkName(spec: ResourceSpec, name: string, causes: Cause[]): void {
  const label = spec.kind === 'Namespace' || spec.kind === 'Service';
  if (!name) {
    causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required', reason: 'FieldValueRequired' });
    return;
  }
  const ok = label ? DNS1123_LABEL.test(name) && name.length <= 63 : DNS1123_SUBDOMAIN.test(name) && name.length <= 253;
  if (!ok) {
    const what = label
      ? `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
      : `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
    causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": ${what}` });
  }
}

function checkQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253)) return false;
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

function checkLabels(labels: unknown, field: string, causes: Cause[]): void {
  if (labels === undefined || labels === null) return;
  if (!isObj(labels)) {
    causes.push({ field, message: 'Invalid value: must be a map of strings' });
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!checkQualifiedKey(k)) causes.push({ field, message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) causes.push({ field: `${field}`, message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
  }
}

const DEFAULT_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

/** Pod spec defaults (also applied to workload templates). */
export function defaultPodSpec(ps: Record<string, any>, isPod: boolean): void {
  ps.restartPolicy ??= 'Always';
  ps.dnsPolicy ??= 'ClusterFirst';
  ps.schedulerName ??= 'default-scheduler';
  ps.terminationGracePeriodSeconds ??= 30;
  ps.securityContext ??= {};
  if (isPod) {
    ps.serviceAccountName ??= 'default';
    ps.serviceAccount ??= ps.serviceAccountName;
    ps.enableServiceLinks ??= true;
    ps.priority ??= 0;
    ps.preemptionPolicy ??= 'PreemptLowerPriority';
    const tol: any[] = Array.isArray(ps.tolerations) ? ps.tolerations : [];
    for (const d of DEFAULT_TOLERATIONS) {
      if (!tol.some((t) => (t.key === d.key || (t.operator === 'Exists' && !t.key)) && (!t.effect || t.effect === 'NoExecute'))) tol.push({ ...d });
    }
    ps.tolerations = tol;
  }
  for (const list of ['containers', 'initContainers']) {
    for (const c of Array.isArray(ps[list]) ? ps[list] : []) {
      if (!isObj(c)) continue;
      const image = typeof c.image === 'string' ? c.image : '';
      c.imagePullPolicy ??= image.endsWith(':latest') || !image.includes(':') ? 'Always' : 'IfNotPresent';
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.resources ??= {};
      if (Array.isArray(c.ports)) for (const p of c.ports) if (isObj(p)) p.protocol ??= 'TCP';
    }
  }
}

/** The QoS class of a pod spec. */
export function qosClass(ps: Record<string, any>): string {
  const containers: any[] = [...(ps.containers ?? []), ...(ps.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || parseQuantity(q) !== parseQuantity(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Applies create-time defaults to an object of the given resource. */
export function applyDefaults(spec: ResourceSpec, obj: KObject, ctx: { allocateClusterIP: () => string }): void {
  const s = obj.spec as Record<string, any>;
  switch (spec.kind) {
    case 'Pod':
      if (isObj(s)) {
        defaultPodSpec(s, true);
        obj.status = { phase: 'Pending', qosClass: qosClass(s), ...(isObj(obj.status) ? obj.status : {}) };
      }
      break;
    case 'Deployment':
      if (isObj(s)) {
        s.replicas ??= 1;
        s.strategy ??= { type: 'RollingUpdate' };
        if (s.strategy.type === 'RollingUpdate') s.strategy.rollingUpdate = { maxUnavailable: '25%', maxSurge: '25%', ...(s.strategy.rollingUpdate ?? {}) };
        s.revisionHistoryLimit ??= 10;
        s.progressDeadlineSeconds ??= 600;
        if (isObj(s.template?.spec)) defaultPodSpec(s.template.spec, false);
      }
      break;
    case 'ReplicaSet':
      if (isObj(s)) {
        s.replicas ??= 1;
        if (isObj(s.template?.spec)) defaultPodSpec(s.template.spec, false);
      }
      break;
    case 'StatefulSet':
      if (isObj(s)) {
        s.replicas ??= 1;
        s.podManagementPolicy ??= 'OrderedReady';
        s.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
        s.revisionHistoryLimit ??= 10;
        s.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
        if (isObj(s.template?.spec)) defaultPodSpec(s.template.spec, false);
      }
      break;
    case 'DaemonSet':
      if (isObj(s)) {
        s.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
        s.revisionHistoryLimit ??= 10;
        if (isObj(s.template?.spec)) defaultPodSpec(s.template.spec, false);
      }
      break;
    case 'PodDisruptionBudget':
      obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, ...(isObj(obj.status) ? obj.status : {}) };
      break;
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...(isObj(s) ? s : {}) };
      obj.status = { phase: 'Active' };
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      break;
    case 'Service':
      if (isObj(s)) {
        s.type ??= 'ClusterIP';
        if (s.clusterIP !== 'None') s.clusterIP ??= ctx.allocateClusterIP();
        s.clusterIPs ??= [s.clusterIP];
        s.sessionAffinity ??= 'None';
        s.ipFamilies ??= ['IPv4'];
        s.ipFamilyPolicy ??= 'SingleStack';
        s.internalTrafficPolicy ??= 'Cluster';
        for (const p of Array.isArray(s.ports) ? s.ports : []) {
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
      }
      obj.status ??= { loadBalancer: {} };
      break;
    case 'Secret':
      obj.type ??= 'Opaque';
      break;
    case 'Job':
      defaultJob(obj);
      if (isObj(s?.template?.spec)) defaultPodSpec(s.template.spec, false);
      break;
    case 'CustomResourceDefinition':
      defaultCrd(obj);
      break;
    case 'Ingress':
      obj.status ??= { loadBalancer: {} };
      break;
  }
}

/** Normalises write-only input: Secret stringData becomes base64 data. */
export function normalizeInput(spec: ResourceSpec, obj: KObject): void {
  if (spec.kind === 'Secret' && isObj(obj.stringData)) {
    obj.data = { ...(obj.data ?? {}) };
    for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
    delete obj.stringData;
  }
}

function checkPodSpec(ps: unknown, field: string, causes: Cause[]): void {
  if (!isObj(ps)) {
    causes.push({ field, message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  const containers = ps.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ field: `${field}.containers`, message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    if (!isObj(c) || typeof c.name !== 'string' || !c.name) causes.push({ field: `${field}.containers[${i}].name`, message: 'Required value', reason: 'FieldValueRequired' });
    else if (!DNS1123_LABEL.test(c.name)) causes.push({ field: `${field}.containers[${i}].name`, message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'` });
    else if (names.has(c.name)) causes.push({ field: `${field}.containers[${i}].name`, message: `Duplicate value: "${c.name}"`, reason: 'FieldValueDuplicate' });
    else names.add(c.name);
    if (isObj(c) && (typeof c.image !== 'string' || !c.image)) causes.push({ field: `${field}.containers[${i}].image`, message: 'Required value', reason: 'FieldValueRequired' });
    for (const kind of ['requests', 'limits']) {
      const r = isObj(c) && isObj(c.resources) ? c.resources[kind] : undefined;
      if (isObj(r)) for (const [k, v] of Object.entries(r)) if (Number.isNaN(parseQuantity(v))) causes.push({ field: `${field}.containers[${i}].resources.${kind}[${k}]`, message: `Invalid value: "${String(v)}": must be a quantity` });
    }
  });
}

function checkWorkload(obj: KObject, causes: Cause[], withTemplate = true): void {
  const s = obj.spec as Record<string, any>;
  if (!isObj(s)) {
    causes.push({ field: 'spec', message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  if (s.replicas !== undefined && (!Number.isInteger(s.replicas) || s.replicas < 0)) causes.push({ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(s.replicas)}: must be greater than or equal to 0` });
  const sel = s.selector as LabelSelectorObject | undefined;
  if (!isObj(sel) || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
    causes.push({ field: 'spec.selector', message: 'Required value', reason: 'FieldValueRequired' });
  } else if (withTemplate) {
    const labels = s.template?.metadata?.labels as Record<string, string> | undefined;
    if (!matchLabels(fromLabelSelectorObject(sel) ?? [], labels)) {
      causes.push({ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\`` });
    }
  }
  if (withTemplate) {
    checkLabels(s.template?.metadata?.labels, 'spec.template.metadata.labels', causes);
    checkPodSpec(s.template?.spec, 'spec.template.spec', causes);
  }
}

function checkIntOrPercent(v: unknown, field: string, causes: Cause[]): void {
  if (v === undefined || v === null) return;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return;
  if (typeof v === 'string' && /^\d+%$/.test(v) && Number(v.slice(0, -1)) <= 100) return;
  causes.push({ field, message: `Invalid value: ${JSON.stringify(v)}: must be an integer or percentage (e.g '5%')` });
}

/** Validates an object about to be written; `old` is the live object on updates. Throws 422. */
export function validate(spec: ResourceSpec, obj: KObject, old?: KObject): void {
  const causes: Cause[] = [];
  checkName(spec, obj.metadata.name, causes);
  checkLabels(obj.metadata.labels, 'metadata.labels', causes);
  if (obj.metadata.annotations !== undefined && !isObj(obj.metadata.annotations)) causes.push({ field: 'metadata.annotations', message: 'Invalid value: must be a map of strings' });
  switch (spec.kind) {
    case 'Pod':
      checkPodSpec(obj.spec, 'spec', causes);
      if (old && isObj(obj.spec) && isObj(old.spec)) {
        const strip = (ps: Record<string, any>) => ({
          ...ps,
          containers: (ps.containers ?? []).map((c: Record<string, unknown>) => ({ ...c, image: '' })),
          tolerations: undefined,
          activeDeadlineSeconds: undefined,
          terminationGracePeriodSeconds: undefined,
        });
        if (!jsonEqual(strip(obj.spec), strip(old.spec))) {
          causes.push({ field: 'spec', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)', reason: 'FieldValueForbidden' });
        }
      }
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      checkWorkload(obj, causes);
      if (old && !jsonEqual(old.spec?.selector, obj.spec?.selector)) causes.push({ field: 'spec.selector', message: `Invalid value: ${JSON.stringify(obj.spec?.selector)}: field is immutable` });
      break;
    case 'PodDisruptionBudget': {
      const s = obj.spec ?? {};
      if (s.minAvailable !== undefined && s.maxUnavailable !== undefined && s.minAvailable !== null && s.maxUnavailable !== null) {
        causes.push({ field: 'spec', message: `Invalid value: ${JSON.stringify(s)}: minAvailable and maxUnavailable cannot be both set` });
      }
      checkIntOrPercent(s.minAvailable, 'spec.minAvailable', causes);
      checkIntOrPercent(s.maxUnavailable, 'spec.maxUnavailable', causes);
      if (s.unhealthyPodEvictionPolicy !== undefined && s.unhealthyPodEvictionPolicy !== null && !['IfHealthyBudget', 'AlwaysAllow'].includes(s.unhealthyPodEvictionPolicy)) {
        causes.push({ field: 'spec.unhealthyPodEvictionPolicy', message: `Unsupported value: "${s.unhealthyPodEvictionPolicy}": supported values: "AlwaysAllow", "IfHealthyBudget"`, reason: 'FieldValueNotSupported' });
      }
      break;
    }
    case 'Secret':
      for (const [k, v] of Object.entries(isObj(obj.data) ? obj.data : {})) {
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) causes.push({ field: `data[${k}]`, message: 'Invalid value: "<secret contents redacted>": illegal base64 data' });
      }
      if (old && old.type !== obj.type) causes.push({ field: 'type', message: `Invalid value: "${obj.type}": field is immutable` });
      break;
    case 'Lease': {
      const d = obj.spec?.leaseDurationSeconds;
      if (d !== undefined && d !== null && (!Number.isInteger(d) || d <= 0)) causes.push({ field: 'spec.leaseDurationSeconds', message: `Invalid value: ${JSON.stringify(d)}: must be greater than 0` });
      break;
    }
    case 'Service':
      if (old && old.spec?.clusterIP && obj.spec?.clusterIP && old.spec.clusterIP !== obj.spec.clusterIP) causes.push({ field: 'spec.clusterIP', message: `Invalid value: "${obj.spec.clusterIP}": field is immutable` });
      break;
  }
  if (spec.group === 'batch' && spec.kind === 'Job') {
    checkWorkload(obj, causes);
    validateJob(obj, causes, old);
  }
  if (spec.group === 'apiextensions.k8s.io' && spec.kind === 'CustomResourceDefinition') validateCrd(obj, causes, old);
  if (spec.schema) validateCustomResource(spec, obj, causes);
  if (causes.length) throw invalid(spec, obj.metadata.name || obj.metadata.generateName || '', causes);
}
