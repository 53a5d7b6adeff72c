// Errors of the OpenStack client. API errors carry the request (method, URL without credentials), the HTTP
// status, the request id OpenStack logs it under (x-openstack-request-id / x-compute-request-id) and the API's
// own message, so an operator can hand the id to the cloud's admins.
import { OpenStackError, type ErrorOptions } from '../core/errors.js';

/** Facts about a failed API call, in every OpenStackApiError's context. */
export interface ApiErrorFacts {
  method: string;
  url: string;
  status: number;
  requestId?: string;
  apiMessage: string;
}

/** OpenStack answered with an error status. */
export class OpenStackApiError extends OpenStackError {
  readonly status: number;
  readonly requestId: string | undefined;
  readonly apiMessage: string;
  /** How long the API asked us to wait before trying again (Retry-After of a 429 or 503), in ms. */
  retryAfterMs: number | undefined;
  constructor(message: string, facts: ApiErrorFacts, options: ErrorOptions = {}) {
    super(message, { ...options, context: { ...facts, ...options.context } });
    this.status = facts.status;
    this.requestId = facts.requestId;
    this.apiMessage = facts.apiMessage;
  }
}

/** 400: the request was malformed or refers to something invalid. */
export class OpenStackBadRequestError extends OpenStackApiError {}

/** 401: bad credentials, or a token Keystone no longer accepts. */
export class OpenStackAuthError extends OpenStackApiError {}

/** 403 for a reason other than quota: the credentials may not do this. */
export class OpenStackForbiddenError extends OpenStackApiError {}

/** 404: no such object. */
export class OpenStackNotFoundError extends OpenStackApiError {}

/** 409: the object is in a state that does not allow this (e.g. reboot while building), or a name clash. */
export class OpenStackConflictError extends OpenStackApiError {}

/** 403/413 over quota: names the quota that ran out when the API says which. */
export class OpenStackQuotaError extends OpenStackApiError {
  /** The quota that ran out (instances, cores, ram, server_group_members, ...), when the message names it. */
  readonly quota: string | undefined;
  constructor(message: string, facts: ApiErrorFacts, quota: string | undefined, options: ErrorOptions = {}) {
    super(message, facts, { ...options, context: { quota, ...options.context } });
    this.quota = quota;
  }
}

/** 429: rate limited. */
export class OpenStackRateLimitError extends OpenStackApiError {}

/** 5xx: the cloud failed. */
export class OpenStackServiceError extends OpenStackApiError {}

/** The API could not be reached (connection refused, DNS, TLS, timeout). */
export class OpenStackConnectionError extends OpenStackError {}

/** clouds.yaml / OS_* settings are missing or wrong, or the catalog lacks a needed endpoint. */
export class OpenStackConfigError extends OpenStackError {}

/** A server went to ERROR (its fault message is in the error) or was not found where it was expected. */
export class OpenStackServerFaultError extends OpenStackError {}

/** A name matches more than one object (server, server group, image, ...). */
export class OpenStackAmbiguousError extends OpenStackError {}

/** A server group exists with another policy than the one asked for. */
export class OpenStackPolicyMismatchError extends OpenStackError {}

/** No object has this name or id (a lookup by name, not an HTTP 404). */
export class OpenStackLookupError extends OpenStackError {}

/** A server with the name to create exists already. */
export class OpenStackExistsError extends OpenStackError {}
