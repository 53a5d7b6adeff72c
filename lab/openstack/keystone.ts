// Keystone v3 for the lab: one domain, one project, one user with a password, application credentials, and
// Fernet-looking tokens that expire. The catalog lists identity, compute, image and network on the lab's one
// port (public, internal and admin endpoints alike, one region).
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError, type ApiRequest, type ApiResponse, isoMicro, match, objectBody } from './http.js';

/** Settings of the identity service. */
export interface IdentityOptions {
  projectName: string;
  username: string;
  password: string;
  region: string;
  /** Token lifetime in ms (real time, not scaled by the lab's speed). Default one hour. */
  tokenLifetimeMs?: number;
}

interface TokenRecord {
  value: string;
  expiresAt: number;
  issuedAt: number;
  methods: string[];
  auditId: string;
  appCredential?: { id: string; name: string };
}

interface AppCredential {
  id: string;
  name: string;
  secretHash: Buffer;
  description: string | null;
  expiresAt: number | null;
  unrestricted: boolean;
}

const DOMAIN = { id: 'default', name: 'Default' };

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function sameSecret(a: Buffer, secret: string): boolean {
  const b = hash(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The lab's Keystone. */
export class Identity {
  readonly projectId = randomUUID().replace(/-/g, '');
  readonly userId = randomUUID().replace(/-/g, '');
  readonly projectName: string;
  readonly username: string;
  readonly region: string;
  tokenLifetimeMs: number;
  private readonly passwordHash: Buffer;
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly appCredentials = new Map<string, AppCredential>();

  constructor(options: IdentityOptions) {
    this.projectName = options.projectName;
    this.username = options.username;
    this.region = options.region;
    this.passwordHash = hash(options.password);
    this.tokenLifetimeMs = options.tokenLifetimeMs ?? 3_600_000;
  }

  /** True when the token exists and has not expired. */
  validToken(value: string | undefined): boolean {
    if (!value) return false;
    const t = this.tokens.get(value);
    if (!t) return false;
    if (Date.now() >= t.expiresAt) {
      this.tokens.delete(value);
      return false;
    }
    return true;
  }

  /** Makes every issued token expire now (tests of re-authentication). */
  expireAllTokens(): void {
    this.tokens.clear();
  }

  /** Creates an application credential for the lab user; returns its id and secret (shown once, as Keystone does). */
  createAppCredential(name: string, options: { secret?: string; description?: string; expiresAt?: number | null; unrestricted?: boolean } = {}): { id: string; secret: string } {
    if ([...this.appCredentials.values()].some((c) => c.name === name)) {
      throw new ApiError(409, `Conflict occurred attempting to store application_credential - Duplicate entry.`);
    }
    const id = randomUUID().replace(/-/g, '');
    const secret = options.secret ?? randomBytes(48).toString('base64url');
    this.appCredentials.set(id, {
      id,
      name,
      secretHash: hash(secret),
      description: options.description ?? null,
      expiresAt: options.expiresAt ?? null,
      unrestricted: options.unrestricted ?? false,
    });
    return { id, secret };
  }

  private issue(methods: string[], appCredential?: AppCredential): TokenRecord {
    // Fernet tokens start with gAAAAA and are ~180 url-safe characters.
    const value = 'gAAAAAB' + randomBytes(132).toString('base64url');
    const now = Date.now();
    const rec: TokenRecord = {
      value,
      issuedAt: now,
      expiresAt: now + this.tokenLifetimeMs,
      methods,
      auditId: randomBytes(16).toString('base64url').slice(0, 22),
      appCredential: appCredential && { id: appCredential.id, name: appCredential.name },
    };
    this.tokens.set(value, rec);
    return rec;
  }

  /** The catalog for a base URL. */
  catalog(base: string): unknown[] {
    const entry = (type: string, name: string, url: string) => ({
      id: createHash('md5').update(type).digest('hex'),
      type,
      name,
      endpoints: ['public', 'internal', 'admin'].map((iface) => ({
        id: createHash('md5').update(type + iface).digest('hex'),
        interface: iface,
        region_id: this.region,
        region: this.region,
        url,
      })),
    });
    return [
      entry('identity', 'keystone', `${base}/identity`),
      entry('compute', 'nova', `${base}/compute/v2.1`),
      entry('image', 'glance', `${base}/image`),
      entry('network', 'neutron', `${base}/network`),
    ];
  }

  private tokenBody(rec: TokenRecord, base: string): unknown {
    const token: Record<string, unknown> = {
      methods: rec.methods,
      user: { domain: DOMAIN, id: this.userId, name: this.username, password_expires_at: null },
      audit_ids: [rec.auditId],
      expires_at: isoMicro(rec.expiresAt),
      issued_at: isoMicro(rec.issuedAt),
      project: { domain: DOMAIN, id: this.projectId, name: this.projectName },
      is_domain: false,
      roles: [
        { id: createHash('md5').update('admin').digest('hex'), name: 'admin' },
        { id: createHash('md5').update('member').digest('hex'), name: 'member' },
        { id: createHash('md5').update('reader').digest('hex'), name: 'reader' },
      ],
      catalog: this.catalog(base),
    };
    if (rec.appCredential) token.application_credential = { id: rec.appCredential.id, name: rec.appCredential.name, restricted: true };
    return { token };
  }

  private authenticate(req: ApiRequest): TokenRecord {
    const auth = objectBody(req, 'auth');
    const identity = auth.identity as Record<string, any> | undefined;
    const methods: string[] = Array.isArray(identity?.methods) ? identity!.methods : [];
    const fail = (): never => {
      throw new ApiError(401, 'The request you have made requires authentication.');
    };
    if (methods.includes('password')) {
      const user = identity!.password?.user as Record<string, any> | undefined;
      if (!user || typeof user.password !== 'string') throw new ApiError(400, "Invalid input for field 'identity/password/user/password': None is not of type 'string'", 'Bad Request');
      const byId = user.id !== undefined;
      if (byId ? user.id !== this.userId : user.name !== this.username) fail();
      if (!byId) {
        const d = user.domain as Record<string, string> | undefined;
        if (!d || (d.id !== undefined ? d.id !== DOMAIN.id : d.name !== DOMAIN.name)) fail();
      }
      if (!sameSecret(this.passwordHash, user.password)) fail();
      const scope = auth.scope as Record<string, any> | undefined;
      const project = scope?.project as Record<string, any> | undefined;
      if (!project) {
        // An unscoped token carries no catalog; the lab's user has only its one project.
        throw new ApiError(401, 'The request you have made requires authentication.');
      }
      if (project.id !== undefined ? project.id !== this.projectId : project.name !== this.projectName) fail();
      if (project.id === undefined) {
        const d = project.domain as Record<string, string> | undefined;
        if (!d || (d.id !== undefined ? d.id !== DOMAIN.id : d.name !== DOMAIN.name)) fail();
      }
      return this.issue(['password']);
    }
    if (methods.includes('application_credential')) {
      const ac = identity!.application_credential as Record<string, any> | undefined;
      if (!ac || typeof ac.secret !== 'string') fail();
      if (auth.scope) throw new ApiError(401, 'Application credentials cannot request a scope.');
      let cred: AppCredential | undefined;
      if (ac!.id !== undefined) cred = this.appCredentials.get(String(ac!.id));
      else {
        const u = ac!.user as Record<string, any> | undefined;
        const userOk = u && (u.id !== undefined ? u.id === this.userId : u.name === this.username);
        if (userOk) cred = [...this.appCredentials.values()].find((c) => c.name === ac!.name);
      }
      if (!cred || !sameSecret(cred.secretHash, ac!.secret)) fail();
      if (cred!.expiresAt !== null && Date.now() >= cred!.expiresAt) fail();
      return this.issue(['application_credential'], cred);
    }
    throw new ApiError(401, `Attempted to authenticate with an unsupported method.`);
  }

  /** Version document of /identity/v3. */
  versionDoc(base: string): unknown {
    return {
      id: 'v3.14',
      status: 'stable',
      updated: '2020-04-07T00:00:00Z',
      links: [{ rel: 'self', href: `${base}/identity/v3/` }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
    };
  }

  /** Handles a request below /identity. */
  handle(req: ApiRequest): ApiResponse {
    const { method, path, base } = req;
    if (method === 'GET' && (path === '' || path === '/')) return { status: 300, body: { versions: { values: [this.versionDoc(base)] } } };
    if (method === 'GET' && (path === '/v3' || path === '/v3/')) return { status: 200, body: { version: this.versionDoc(base) } };
    if (path === '/v3/auth/tokens') {
      if (method === 'POST') {
        const rec = this.authenticate(req);
        return { status: 201, body: this.tokenBody(rec, base), headers: { 'X-Subject-Token': rec.value } };
      }
      const caller = req.headers['x-auth-token'] as string | undefined;
      if (!this.validToken(caller)) throw new ApiError(401, 'The request you have made requires authentication.');
      const subject = req.headers['x-subject-token'] as string | undefined;
      if (method === 'GET' || method === 'HEAD') {
        if (!this.validToken(subject)) throw new ApiError(404, `Could not find token: ${subject ? subject.slice(0, 8) + '…' : ''}.`, 'Not Found');
        const rec = this.tokens.get(subject!)!;
        return { status: 200, body: method === 'GET' ? this.tokenBody(rec, base) : undefined, headers: { 'X-Subject-Token': subject! } };
      }
      if (method === 'DELETE') {
        if (!subject || !this.tokens.delete(subject)) throw new ApiError(404, 'Could not find token.', 'Not Found');
        return { status: 204 };
      }
      throw new ApiError(405, 'The method is not allowed for the requested URL.');
    }
    // Everything else needs a token.
    if (!this.validToken(req.headers['x-auth-token'] as string | undefined)) throw new ApiError(401, 'The request you have made requires authentication.');
    let m = match('/v3/users/:user/application_credentials', path);
    if (m) {
      if (m.user !== this.userId) throw new ApiError(404, `Could not find user: ${m.user}.`, 'Not Found');
      if (method === 'GET') return { status: 200, body: { application_credentials: [...this.appCredentials.values()].map((c) => this.credentialView(c)), links: { self: `${base}/identity${path}`, next: null, previous: null } } };
      if (method === 'POST') {
        const ac = objectBody(req, 'application_credential');
        if (typeof ac.name !== 'string' || !ac.name) throw new ApiError(400, "Invalid input for field 'name': None is not of type 'string'", 'Bad Request');
        const expiresAt = typeof ac.expires_at === 'string' ? Date.parse(ac.expires_at) : null;
        const created = this.createAppCredential(ac.name, {
          secret: typeof ac.secret === 'string' ? ac.secret : undefined,
          description: typeof ac.description === 'string' ? ac.description : undefined,
          expiresAt,
          unrestricted: ac.unrestricted === true,
        });
        return { status: 201, body: { application_credential: { ...this.credentialView(this.appCredentials.get(created.id)!), secret: created.secret } } };
      }
    }
    m = match('/v3/users/:user/application_credentials/:id', path);
    if (m) {
      const cred = this.appCredentials.get(m.id!) ?? [...this.appCredentials.values()].find((c) => c.name === m!.id);
      if (!cred || m.user !== this.userId) throw new ApiError(404, `Could not find Application Credential: ${m.id}.`, 'Not Found');
      if (method === 'GET') return { status: 200, body: { application_credential: this.credentialView(cred) } };
      if (method === 'DELETE') {
        this.appCredentials.delete(cred.id);
        return { status: 204 };
      }
    }
    m = match('/v3/projects/:id', path);
    if (m && method === 'GET') {
      if (m.id !== this.projectId) throw new ApiError(404, `Could not find project: ${m.id}.`, 'Not Found');
      return { status: 200, body: { project: { id: this.projectId, name: this.projectName, domain_id: DOMAIN.id, enabled: true, description: 'lab project', is_domain: false, parent_id: DOMAIN.id, tags: [], options: {}, links: { self: `${base}/identity/v3/projects/${this.projectId}` } } } };
    }
    if (method === 'GET' && path === '/v3/projects') {
      return { status: 200, body: { projects: [{ id: this.projectId, name: this.projectName, domain_id: DOMAIN.id, enabled: true, description: 'lab project', is_domain: false, parent_id: DOMAIN.id, tags: [], options: {}, links: { self: `${base}/identity/v3/projects/${this.projectId}` } }], links: { self: `${base}/identity/v3/projects`, next: null, previous: null } } };
    }
    throw new ApiError(404, 'The resource could not be found.', 'Not Found');
  }

  private credentialView(c: AppCredential): Record<string, unknown> {
    return {
      id: c.id,
      name: c.name,
      description: c.description,
      project_id: this.projectId,
      user_id: this.userId,
      expires_at: c.expiresAt === null ? null : isoMicro(c.expiresAt),
      unrestricted: c.unrestricted,
      roles: [{ id: createHash('md5').update('member').digest('hex'), name: 'member', domain_id: null }],
      access_rules: [],
      links: { self: '' },
    };
  }
}
