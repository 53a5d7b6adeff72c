// Kubernetes errors: every API failure names the verb, the object and the API's own Status message.
import { ExitCode, KubernetesError } from '../core/errors.js';

/** An API request failed (non-2xx). */
export class KubeApiError extends KubernetesError {
  /** HTTP status code (0 when the server could not be reached). */
  readonly status: number;
  /** The Status reason (NotFound, Conflict, TooManyRequests, ...), when the API gave one. */
  readonly reason: string | undefined;
  /** What the server asked us to wait before trying again (its Retry-After header), in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { status: number; reason?: string; context?: Record<string, unknown>; cause?: unknown; hint?: string; retryAfterMs?: number }) {
    super(message, { context: { ...options.context, status: options.status, reason: options.reason }, cause: options.cause, hint: options.hint });
    this.status = options.status;
    this.reason = options.reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The kubeconfig cannot be used: missing file, unknown context or cluster. Nothing was sent; exits 2. */
export class KubeConfigError extends KubeApiError {
  override get exitCode(): number {
    return ExitCode.usage;
  }
}

/** A request was cancelled: by the run's signal, or by a deadline such as a drain's. */
export class KubeAbortedError extends KubeApiError {}

/** The object does not exist. */
export class KubeNotFoundError extends KubeApiError {}

/** A conflict: resourceVersion or UID precondition mismatch, or the object already exists. */
export class KubeConflictError extends KubeApiError {}

/** The API server cannot be reached (connection refused, TLS, timeout). */
export class KubeUnreachableError extends KubeApiError {}

/** A node is not in the cluster. */
export class NodeNotFoundError extends KubernetesError {}

/** A drain refused to start: some pods may not be evicted without an opt-in. The node stays cordoned. */
export class DrainRefusedError extends KubernetesError {}

/** A drain did not finish: pods (and the PDBs that blocked them) are named in the context. */
export class DrainFailedError extends KubernetesError {}

/** A drain reached its deadline (--timeout) with pods left; the pods and blocking PDBs are in the context. */
export class DrainTimeoutError extends DrainFailedError {}

/** Uncordon refused: the node was cordoned by someone else. Nothing changed, so it exits like bad input (2). */
export class NotOurCordonError extends KubernetesError {
  override get exitCode(): number {
    return ExitCode.usage;
  }
}

/** What a failing /readyz body says: its failed checks (`[-]` lines), else its first 200 characters. */
export function readyzFailures(body: string): string {
  const text = body.trim();
  return text.split('\n').filter((l) => l.startsWith('[-]')).join('; ') || text.slice(0, 200);
}
