// Errors of the component engine. Bad input (repository, values, templates, objects the server rejects before
// anything was written) is an InputError (exit 2); failures while deploying are KubernetesErrors; failed
// functional tests are their own class so a deploy can say which tests failed.
import { CookbookError, InputError, KubernetesError } from '../core/errors.js';

/** The components repository cannot be used: missing directory, unknown branch, unreachable URL, bad layout. */
export class RepositoryError extends InputError {}

/** A component's definition is wrong: unknown component, missing values file, template error, bad namespace. */
export class ComponentInputError extends InputError {}

/** The API server refused a rendered object in the server-side dry-run (nothing was written). */
export class ObjectRejectedError extends InputError {}

/** Server-side apply met a field owned by another field manager (and --force-conflicts was not given). */
export class FieldConflictError extends KubernetesError {}

/** Applying or pruning failed, or the API server became unhealthy while applying. */
export class ApplyError extends KubernetesError {}

/** A workload did not become ready at its new generation, or a Job failed, before the timeout. */
export class RolloutError extends KubernetesError {}

/** The release records of a component are inconsistent or cannot be written. */
export class ReleaseError extends KubernetesError {}

/** Functional tests failed (the failed test names are in context.failed). */
export class TestsFailedError extends CookbookError {}

/** bats could not be run, or its output could not be read. */
export class BatsError extends CookbookError {}
