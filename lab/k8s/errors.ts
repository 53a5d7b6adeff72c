// API errors as the Kubernetes API server reports them: a metav1.Status body with code, reason and details.
import { LabError } from '../../lib/core/errors.js';
import { qualifiedName, type ResourceSpec } from './resources.js';

/** One entry of Status.details.causes. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The body of an error response. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

/** An error the lab API answers with a Status object. */
export class ApiError extends LabError {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusBody['details'];
  /** Seconds for a Retry-After header (429, some 500s). */
  readonly retryAfter: number | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusBody['details'], retryAfter?: number) {
    super(message, { context: { code, reason } });
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** The Status body to send. */
  toStatus(): StatusBody {
    const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) body.details = this.details;
    return body;
  }
}

function ref(spec: ResourceSpec, name: string): StatusBody['details'] {
  const d: NonNullable<StatusBody['details']> = { name, kind: spec.plural };
  if (spec.group) d.group = spec.group;
  return d;
}

/** 404 `pods "x" not found`. */
export function notFound(spec: ResourceSpec, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedName(spec)} "${name}" not found`, ref(spec, name));
}

/** 409 `pods "x" already exists`. */
export function alreadyExists(spec: ResourceSpec, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedName(spec)} "${name}" already exists`, ref(spec, name));
}

/** 409 Conflict with the API server's wording; `why` defaults to the stale resourceVersion text. */
export function conflict(spec: ResourceSpec, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again', causes?: StatusCause[]): ApiError {
  const details = ref(spec, name)!;
  if (causes) details.causes = causes;
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(spec)} "${name}": ${why}`, details);
}

/** 422 Invalid with field causes: `Pod "x" is invalid: spec.containers: Required value`. */
export function invalid(spec: ResourceSpec, name: string, causes: { field: string; message: string; reason?: string }[]): ApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`);
  const msg = `${spec.kind} "${name}" is invalid: ${text.length === 1 ? text[0] : '[' + text.join(', ') + ']'}`;
  const details: NonNullable<StatusBody['details']> = {
    name,
    kind: spec.kind,
    causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
  };
  if (spec.group) details.group = spec.group;
  return new ApiError(422, 'Invalid', msg, details);
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 500 InternalError: `Internal error occurred: ...`. */
export function internalError(message: string, retryAfter?: number): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }], ...(retryAfter ? { retryAfterSeconds: retryAfter } : {}) }, retryAfter);
}

/** 403 Forbidden on one object. */
export function forbidden(spec: ResourceSpec, name: string, why: string): ApiError {
  return new ApiError(403, 'Forbidden', `${qualifiedName(spec)} "${name}" is forbidden: ${why}`, ref(spec, name));
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(what: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource${what ? ` (${what})` : ''}`);
}

/** 410 Expired (watch or continue token too old). */
export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

/** 429 TooManyRequests. */
export function tooManyRequests(message: string, retryAfter?: number, causes?: StatusCause[]): ApiError {
  const details: NonNullable<StatusBody['details']> = {};
  if (causes) details.causes = causes;
  if (retryAfter) details.retryAfterSeconds = retryAfter;
  return new ApiError(429, 'TooManyRequests', message, Object.keys(details).length ? details : undefined, retryAfter);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(type: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${type})`);
}
