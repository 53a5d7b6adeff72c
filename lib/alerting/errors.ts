// Errors of the Alertmanager client. Each carries the request (method and URL without credentials), the HTTP
// status and Alertmanager's own message in `context`, and a hint for the operator.
import { AlertingError, type ErrorOptions } from '../core/errors.js';

/** Alertmanager answered with an error status. */
export class AlertingApiError extends AlertingError {
  /** HTTP status code. */
  readonly status: number;
  constructor(message: string, status: number, options: ErrorOptions = {}) {
    super(message, options);
    this.status = status;
  }
}

/** The silence (or other object) does not exist. */
export class AlertingNotFoundError extends AlertingApiError {}

/** Alertmanager could not be reached (connection refused, DNS, timeout). */
export class AlertingConnectionError extends AlertingError {}

/** The cluster has no Alertmanager configured, or its URL is unusable. */
export class AlertingConfigError extends AlertingError {}

/** Firing alerts block a disruptive step. */
export class AlertsFiringError extends AlertingError {}
