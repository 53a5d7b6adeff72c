// Keystone v3 authentication (password or application credential) and the service catalog. A token is reused
// until shortly before it expires, fetched once for concurrent callers, and dropped when a service answers
// 401 so the next call re-authenticates. Token creation is a POST but no mutation of the cloud: it does not
// go through the mutation gate, so dry-run can read.
import { type Clock, systemClock } from '../core/clock.js';
import { registerSecret } from '../core/redact.js';
import { backoffDelay, defaultBackoff } from '../core/retry.js';
import { nullLog, type Log } from '../core/log.js';
import type { CloudConfig, EndpointInterface } from './config.js';
import { OpenStackAuthError, OpenStackConfigError, OpenStackConnectionError, OpenStackRateLimitError, OpenStackServiceError } from './errors.js';
import { send, toApiError } from './wire.js';

/** One endpoint of a catalog entry. */
export interface CatalogEndpoint {
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
  id?: string;
}

/** One service of the catalog. */
export interface CatalogService {
  type: string;
  name?: string;
  id?: string;
  endpoints: CatalogEndpoint[];
}

/** A Keystone token and what came with it. */
export interface Token {
  /** The token itself (registered as a secret). */
  readonly value: string;
  /** Local time (ms) after which the token is refreshed before use. */
  readonly refreshAt: number;
  /** Local time (ms) the token expires (computed from Keystone's lifetime, immune to clock skew). */
  readonly expiresAt: number;
  readonly catalog: CatalogService[];
  readonly project: { id: string; name: string } | undefined;
  readonly user: { id: string; name: string } | undefined;
}

/** The Keystone v3 request body for a config. */
export function tokenRequestBody(cfg: CloudConfig): Record<string, unknown> {
  if (cfg.authType === 'application_credential') {
    const credential: Record<string, unknown> = { secret: cfg.applicationCredentialSecret };
    if (cfg.applicationCredentialId) credential.id = cfg.applicationCredentialId;
    else {
      credential.name = cfg.applicationCredentialName;
      credential.user = cfg.userId ? { id: cfg.userId } : { name: cfg.username, domain: domainOf(cfg.userDomainId, cfg.userDomainName) };
    }
    // An application credential is bound to its project: a scope in the request is an error.
    return { auth: { identity: { methods: ['application_credential'], application_credential: credential } } };
  }
  const user: Record<string, unknown> = cfg.userId
    ? { id: cfg.userId, password: cfg.password }
    : { name: cfg.username, password: cfg.password, domain: domainOf(cfg.userDomainId, cfg.userDomainName) };
  const project: Record<string, unknown> = cfg.projectId ? { id: cfg.projectId } : { name: cfg.projectName, domain: domainOf(cfg.projectDomainId, cfg.projectDomainName) };
  return { auth: { identity: { methods: ['password'], password: { user } }, scope: { project } } };
}

function domainOf(id: string | undefined, name: string | undefined): Record<string, string> {
  return id ? { id } : { name: name ?? 'Default' };
}

/**
 * The URL of a service in the catalog for an interface and (optional) region. Throws OpenStackConfigError
 * listing what the catalog offers when nothing matches.
 */
export function selectEndpoint(catalog: readonly CatalogService[], type: string, iface: EndpointInterface, region?: string): string {
  const services = catalog.filter((s) => s.type === type);
  const candidates = services.flatMap((s) => s.endpoints).filter((e) => e.interface === iface);
  const inRegion = region ? candidates.filter((e) => e.region_id === region || e.region === region) : candidates;
  if (inRegion.length > 0) return inRegion[0]!.url.replace(/\/+$/, '');
  const offered = catalog
    .flatMap((s) => s.endpoints.map((e) => `${s.type}/${e.interface}/${e.region_id ?? e.region ?? '-'}`))
    .sort()
    .join(', ');
  throw new OpenStackConfigError(`the service catalog has no ${iface} ${type} endpoint${region ? ` in region ${region}` : ''}`, {
    context: { serviceType: type, interface: iface, region, offered },
    hint: services.length === 0 ? `the cloud offers no ${type} service to this project` : 'fix region_name / interface in clouds.yaml or the inventory',
  });
}

/** Options of KeystoneAuth. */
export interface KeystoneAuthOptions {
  config: CloudConfig;
  clock?: Clock;
  log?: Log;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** The project the inventory says the cluster lives in: a token for another project is refused. */
  expectedProject?: string;
}

/** Keystone v3 session: hands out a valid token and catalog endpoints. */
export class KeystoneAuth {
  readonly config: CloudConfig;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly signal: AbortSignal | undefined;
  private readonly timeoutMs: number;
  private readonly expectedProject: string | undefined;
  private current: Token | undefined;
  private pending: Promise<Token> | undefined;
  /** How many tokens were created (tests and diagnostics). */
  tokensIssued = 0;

  constructor(options: KeystoneAuthOptions) {
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? nullLog;
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.expectedProject = options.expectedProject;
  }

  /** A token valid for a while yet: the cached one, or a new one. Concurrent callers share one request. */
  async token(): Promise<Token> {
    if (this.current && this.clock.now() < this.current.refreshAt) return this.current;
    this.pending ??= this.authenticate().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets a token a service refused (401), so the next token() authenticates again. */
  invalidate(value: string): void {
    if (this.current?.value === value) this.current = undefined;
  }

  /** The catalog URL of a service type for the configured interface and region. */
  async endpoint(type: string): Promise<string> {
    const token = await this.token();
    return selectEndpoint(token.catalog, type, this.config.interface, this.config.regionName);
  }

  private async authenticate(): Promise<Token> {
    const url = `${this.config.authUrl}/auth/tokens`;
    // Token creation changes nothing in the cloud, so it may be retried on transient failures.
    for (let attempt = 1; ; attempt++) {
      const started = this.clock.now();
      try {
        const res = await send({ method: 'POST', url, body: tokenRequestBody(this.config), timeoutMs: this.timeoutMs, signal: this.signal });
        if (res.status !== 201 && res.status !== 200) {
          const err = toApiError('POST', url, res, `authenticate${this.who()}`);
          if (err instanceof OpenStackAuthError) {
            throw new OpenStackAuthError(`Keystone refused the credentials${this.who()}: ${err.apiMessage}${res.requestId ? ` [request ${res.requestId}]` : ''}`, {
              method: 'POST',
              url,
              status: res.status,
              apiMessage: err.apiMessage,
              ...(res.requestId ? { requestId: res.requestId } : {}),
            }, {
              context: { source: this.config.source, cloud: this.config.cloud },
              hint: `check the ${this.config.authType === 'password' ? 'user name, password and domains' : 'application credential id and secret'} in ${this.config.source}`,
            });
          }
          throw err;
        }
        const value = res.headers.get('x-subject-token');
        if (!value) {
          throw new OpenStackConfigError(`Keystone at ${this.config.authUrl} answered without an X-Subject-Token`, {
            hint: 'is auth_url a Keystone v3 endpoint?',
          });
        }
        registerSecret(value);
        const token = this.parse(value, res.text, started);
        this.current = token;
        this.tokensIssued++;
        this.log.debug(`authenticated to ${this.config.authUrl}${this.who()}; token valid for ${Math.round((token.expiresAt - this.clock.now()) / 1000)}s`);
        return token;
      } catch (err) {
        // 429 and 5xx from Keystone (or the proxy in front of it) pass; a refused credential never does.
        const transient = err instanceof OpenStackConnectionError || err instanceof OpenStackServiceError || err instanceof OpenStackRateLimitError;
        if (!transient || attempt >= 5) throw err;
        const delay = Math.max(backoffDelay(attempt, defaultBackoff), (err as { retryAfterMs?: number }).retryAfterMs ?? 0);
        this.log.debug(`POST ${new URL(url).pathname} (authenticate) failed (${(err as Error).message}); retry ${attempt + 1}/5 in ${delay}ms`);
        await this.clock.sleep(delay, this.signal);
      }
    }
  }

  private parse(value: string, text: string, started: number): Token {
    let body: {
      token?: {
        expires_at?: string;
        issued_at?: string;
        catalog?: CatalogService[];
        project?: { id: string; name: string };
        user?: { id: string; name: string };
      };
    };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      throw new OpenStackConfigError(`Keystone at ${this.config.authUrl} answered with something that is not JSON`, { cause: err, hint: 'is auth_url right?' });
    }
    const t = body.token ?? {};
    const catalog = t.catalog ?? [];
    if (catalog.length === 0) {
      throw new OpenStackConfigError(`Keystone issued a token without a service catalog${this.who()}`, {
        hint: 'the token is not scoped to a project: set project_name (or use an application credential of the project)',
      });
    }
    if (this.expectedProject && t.project && t.project.name !== this.expectedProject && t.project.id !== this.expectedProject) {
      throw new OpenStackConfigError(
        `the credentials of ${this.config.cloud ?? this.config.source} are for project ${t.project.name}, but the inventory says ${this.expectedProject}`,
        { context: { project: t.project, expected: this.expectedProject }, hint: 'use the cloud entry of the right project, or fix openstack.project in the inventory' },
      );
    }
    // Keystone's lifetime applied to our clock: a skewed local clock must not make us use an expired token.
    const issued = Date.parse(t.issued_at ?? '');
    const expires = Date.parse(t.expires_at ?? '');
    const lifetime = Number.isFinite(issued) && Number.isFinite(expires) && expires > issued ? expires - issued : 3_600_000;
    const expiresAt = started + lifetime;
    // Refresh a little early so a token never expires between our check and the service's.
    const refreshAt = expiresAt - Math.min(60_000, lifetime / 5);
    return { value, expiresAt, refreshAt, catalog, project: t.project, user: t.user };
  }

  private who(): string {
    const c = this.config;
    if (c.authType === 'application_credential') return ` (application credential ${c.applicationCredentialId ?? c.applicationCredentialName})`;
    return ` (user ${c.username ?? c.userId}, project ${c.projectName ?? c.projectId})`;
  }
}

/** Re-export for callers that only need the type. */
export type { EndpointInterface };
