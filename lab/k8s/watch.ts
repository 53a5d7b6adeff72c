// Watch streams: newline-delimited JSON events over a chunked 200 response, starting from a resourceVersion
// (replayed from the store's history; 410 Expired as an ERROR event when it is too old) or from a snapshot of
// synthetic ADDED events, with bookmarks, selector transitions (ADDED/DELETED when an object starts or stops
// matching) and timeoutSeconds.
import type { ServerResponse } from 'node:http';
import { ApiError } from './errors.js';
import type { ResourceSpec } from './resources.js';
import { matchFields, matchLabels, type FieldRequirement, type LabelSelector } from './selectors.js';
import type { Store, StoreEvent } from './store.js';
import type { KObject } from './types.js';

/** Parameters of one watch. */
export interface WatchParams {
  spec: ResourceSpec;
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
  resourceVersion?: string;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs: number;
}

/** One open watch stream. */
export class WatchStream {
  private closed = false;
  private unregister: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastRv: number;

  constructor(
    private readonly store: Store,
    private readonly res: ServerResponse,
    private readonly p: WatchParams,
    private readonly countBytes: (n: number) => void,
    private readonly onClose: (w: WatchStream) => void,
  ) {
    this.lastRv = store.currentRv();
  }

  private matches(obj: KObject): boolean {
    if (this.p.spec.namespaced && this.p.namespace !== undefined && obj.metadata.namespace !== this.p.namespace) return false;
    return matchLabels(this.p.labels, obj.metadata.labels) && matchFields(this.p.fields, obj);
  }

  private send(type: string, object: unknown): void {
    if (this.closed) return;
    const line = JSON.stringify({ type, object }) + '\n';
    this.countBytes(Buffer.byteLength(line));
    this.res.write(line);
  }

  private handle(ev: StoreEvent): void {
    this.lastRv = ev.rv;
    const now = this.matches(ev.object);
    if (ev.type === 'ADDED') {
      if (now) this.send('ADDED', ev.object);
    } else if (ev.type === 'DELETED') {
      if (now || (ev.old && this.matches(ev.old))) this.send('DELETED', ev.object);
    } else {
      const before = ev.old ? this.matches(ev.old) : false;
      if (now && before) this.send('MODIFIED', ev.object);
      else if (now) this.send('ADDED', ev.object);
      else if (before) this.send('DELETED', ev.object);
    }
  }

  private bookmark(initialEnd = false): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRv()) };
    if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    this.send('BOOKMARK', { kind: this.p.spec.kind, apiVersion: this.p.spec.group ? `${this.p.spec.group}/${this.p.spec.version}` : this.p.spec.version, metadata });
  }

  /** Writes the head, the initial events, and subscribes. Everything runs synchronously: no event is missed. */
  start(): void {
    this.res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    this.res.flushHeaders();
    const rv = this.p.resourceVersion;
    const fromSnapshot = !rv || rv === '0' || this.p.sendInitialEvents;
    if (fromSnapshot) {
      for (const obj of this.store.scan(this.p.spec, this.p.namespace)) if (this.matches(obj)) this.send('ADDED', obj);
      if (this.p.sendInitialEvents && this.p.allowBookmarks) this.bookmark(true);
    } else {
      const n = Number(rv);
      if (!Number.isFinite(n)) {
        this.send('ERROR', new ApiError(400, 'BadRequest', `invalid resource version "${rv}"`).toStatus());
        this.close();
        return;
      }
      try {
        for (const ev of this.store.eventsSince(this.p.spec, n)) this.handle(ev);
      } catch (e) {
        if (e instanceof ApiError) {
          this.send('ERROR', e.toStatus());
          this.close();
          return;
        }
        throw e;
      }
    }
    this.unregister = this.store.addWatcher(this.p.spec, { deliver: (ev) => this.handle(ev) });
    if (this.p.allowBookmarks && this.p.bookmarkIntervalMs > 0) {
      const t = setInterval(() => this.bookmark(), this.p.bookmarkIntervalMs);
      t.unref();
      this.timers.push(t);
    }
    if (this.p.timeoutSeconds && this.p.timeoutSeconds > 0) {
      const t = setTimeout(() => this.close(), this.p.timeoutSeconds * 1000);
      t.unref();
      this.timers.push(t);
    }
    this.res.on('close', () => this.close());
  }

  /** Ends the stream (timeout, client gone, server stopping). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister?.();
    for (const t of this.timers) clearTimeout(t);
    if (!this.res.writableEnded) this.res.end();
    this.onClose(this);
  }

  /** The resourceVersion of the last event seen. */
  get resourceVersion(): number {
    return this.lastRv;
  }
}
