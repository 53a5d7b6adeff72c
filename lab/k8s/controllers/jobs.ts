// Jobs (batch/v1): defaults and validation as the API server applies them (a generated selector on
// batch.kubernetes.io/controller-uid, restartPolicy Never or OnFailure, an immutable template), and the Job
// controller: up to `parallelism` pods at once until `completions` pods Succeeded (condition Complete), or
// more than `backoffLimit` pods Failed (condition Failed, reason BackoffLimitExceeded, active pods deleted).
// The lab's kubelets end a pod whose restartPolicy is not Always once it has run (see finishRun): Succeeded,
// or Failed when one of its images carries the never-ready mark (see lab/k8s/README.md).
import type { NameSource } from '../names.js';
import type { ObjectApi } from '../rest.js';
import type { ResourceSpec } from '../resources.js';
import type { StoreEvent } from '../store.js';
import { WorkQueue } from '../timers.js';
import { controllerOf, isPodActive, isPodReady, jsonEqual, k8sTime, type KObject } from '../types.js';
import { podFromTemplate } from './podutil.js';

type Cause = { field: string; message: string; reason?: string };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Job defaults; needs metadata.uid (the generated selector names it). */
export function defaultJob(job: KObject): void {
  const s = job.spec;
  if (!isObj(s)) return;
  s.parallelism ??= 1;
  s.completions ??= s.parallelism === 1 ? 1 : s.completions;
  s.backoffLimit ??= 6;
  s.completionMode ??= 'NonIndexed';
  s.suspend ??= false;
  s.podReplacementPolicy ??= 'TerminatingOrFailed';
  if (!s.manualSelector && job.metadata.uid) {
    const uid = job.metadata.uid;
    const gen = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': job.metadata.name, 'controller-uid': uid, 'job-name': job.metadata.name };
    s.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    if (isObj(s.template)) s.template.metadata = { ...(s.template.metadata ?? {}), labels: { ...(s.template.metadata?.labels ?? {}), ...gen } };
  }
}

/** Job validation: restartPolicy, counts, and the fields a Job never changes. */
export function validateJob(job: KObject, causes: Cause[], old?: KObject): void {
  const s = job.spec;
  if (!isObj(s)) return;
  const rp = s.template?.spec?.restartPolicy;
  if (rp !== 'Never' && rp !== 'OnFailure') {
    causes.push({ field: 'spec.template.spec.restartPolicy', message: `Required value: valid values: "OnFailure", "Never"`, reason: rp === undefined ? 'FieldValueRequired' : 'FieldValueNotSupported' });
  }
  for (const f of ['parallelism', 'completions', 'backoffLimit'] as const) {
    if (s[f] !== undefined && s[f] !== null && (!Number.isInteger(s[f]) || s[f] < 0)) causes.push({ field: `spec.${f}`, message: `Invalid value: ${JSON.stringify(s[f])}: must be greater than or equal to 0` });
  }
  if (old) {
    if (!jsonEqual(old.spec?.template, s.template)) causes.push({ field: 'spec.template', message: `Invalid value: ${JSON.stringify(s.template)}: field is immutable`, reason: 'FieldValueInvalid' });
    if (!jsonEqual(old.spec?.selector, s.selector)) causes.push({ field: 'spec.selector', message: `Invalid value: ${JSON.stringify(s.selector)}: field is immutable` });
    if (old.spec?.completions !== s.completions) causes.push({ field: 'spec.completions', message: `Invalid value: ${JSON.stringify(s.completions)}: field is immutable` });
  }
}

/** A pod whose container ran to its end: Succeeded (exit 0) or Failed (exit 1), Ready False. */
export function finishRun(p: KObject, ok: boolean): void {
  const now = k8sTime();
  p.status ??= {};
  p.status.phase = ok ? 'Succeeded' : 'Failed';
  p.status.containerStatuses = (p.spec.containers ?? []).map((c: { name: string; image: string }) => {
    const prev = (p.status.containerStatuses ?? []).find((x: { name: string }) => x.name === c.name) ?? {};
    return { ...prev, name: c.name, image: c.image, ready: false, started: false, state: { terminated: { exitCode: ok ? 0 : 1, reason: ok ? 'Completed' : 'Error', startedAt: p.status.startTime ?? now, finishedAt: now } } };
  });
  p.status.conditions = (p.status.conditions ?? []).map((c: { type: string }) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'PodCompleted', lastTransitionTime: now } : c));
}

/** The Job controller. */
export class JobController {
  private readonly q: WorkQueue;
  private readonly jobs: ResourceSpec;
  private readonly pods: ResourceSpec;

  constructor(
    private readonly api: ObjectApi,
    private readonly names: NameSource,
  ) {
    this.jobs = api.res('batch', 'jobs');
    this.pods = api.res('', 'pods');
    this.q = new WorkQueue('job', (k) => this.sync(k));
    api.store.on('change', (ev) => this.onChange(ev));
  }

  private onChange(ev: StoreEvent): void {
    const o = ev.object;
    if (ev.spec === this.jobs && ev.type !== 'DELETED') this.q.add(`${o.metadata.namespace}/${o.metadata.name}`);
    else if (ev.spec === this.pods) {
      const ref = controllerOf(o);
      if (ref?.kind === 'Job') this.q.add(`${o.metadata.namespace}/${ref.name}`);
    }
  }

  private sync(key: string): void {
    const i = key.indexOf('/');
    const ns = key.slice(0, i);
    const name = key.slice(i + 1);
    const job = this.api.store.get(this.jobs, ns, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const s = job.spec ?? {};
    const finished = (job.status?.conditions ?? []).some((c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const pods = this.api.store
      .dependents(job.metadata.uid!)
      .filter((d) => d.spec === this.pods && controllerOf(d.object)?.uid === job.metadata.uid)
      .map((d) => d.object);
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length;
    let active = pods.filter(isPodActive);
    const completions: number = s.completions ?? 1;
    const now = k8sTime();
    const conditions: Record<string, unknown>[] = [...(job.status?.conditions ?? [])];
    let completionTime = job.status?.completionTime;
    if (!finished) {
      if (failed > (s.backoffLimit ?? 6)) {
        for (const p of active) this.api.delete(this.pods, ns, p.metadata.name, {}, { internal: true });
        active = [];
        conditions.push({ type: 'Failed', status: 'True', lastProbeTime: now, lastTransitionTime: now, reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
      } else if (succeeded >= completions) {
        completionTime = now;
        conditions.push({ type: 'Complete', status: 'True', lastProbeTime: now, lastTransitionTime: now });
      } else if (!s.suspend) {
        const want = Math.min(s.parallelism ?? 1, completions - succeeded) - active.length;
        for (let n = 0; n < want; n++) {
          const pod = podFromTemplate(s.template, ns, `${name}-${this.names.suffix(5)}`, job);
          try {
            this.api.create(this.pods, ns, pod, { internal: true });
          } catch (e) {
            // A name collision or a terminating namespace: the next sync tries again.
            if ((e as { code?: number }).code !== 409 && (e as { code?: number }).code !== 403) throw e;
          }
        }
        active = this.api.store
          .dependents(job.metadata.uid!)
          .filter((d) => d.spec === this.pods && isPodActive(d.object))
          .map((d) => d.object);
      }
    }
    const status: Record<string, unknown> = {
      ...(job.status?.startTime || s.suspend ? {} : { startTime: now }),
      ...(job.status ?? {}),
      active: active.length,
      ready: active.filter(isPodReady).length,
      terminating: 0,
      uncountedTerminatedPods: {},
      ...(succeeded ? { succeeded } : {}),
      ...(failed ? { failed } : {}),
      ...(conditions.length ? { conditions } : {}),
      ...(completionTime ? { completionTime } : {}),
    };
    if (!active.length) delete status.active;
    if (!succeeded) delete status.succeeded;
    if (!failed) delete status.failed;
    if (jsonEqual(job.status, status)) return;
    this.api.mutate(this.jobs, ns, name, (o) => {
      o.status = status;
    });
  }

  /** Stops the queue. */
  stop(): void {
    this.q.stop();
  }
}
