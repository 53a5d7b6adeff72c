// The lab's admin endpoint (HTTP on 127.0.0.1, bearer token from lab.json): status and counters, counter
// reset, faults at run time, host-level test hooks (reboot-required, reboot, inspect, run a command without
// counting it) and OpenStack test hooks (application credentials, token expiry, quotas). `lab status` and
// lab/client.ts use it; cookbooks never do.
import { timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { OpenStackHandle } from './openstack/index.js';
import { LATEST_KERNEL, candidateVersion, installPackage, markRebootRequired } from './ssh/commands/apt.js';
import { runCaptured } from './ssh/interpreter.js';
import type { LabFaults, LabHost, World } from './world.js';

/** What the admin endpoint serves. */
export interface AdminDeps {
  world: World;
  token: string;
  openstack?: OpenStackHandle;
  /** Endpoints and other facts for /status. */
  info: () => Record<string, unknown>;
  /** Extra per-host facts (e.g. whether its SSH server listens). */
  hostExtra?: (host: LabHost) => Record<string, unknown>;
  /** Called by POST /shutdown after the answer was sent. */
  onShutdown?: () => void;
  log?: (message: string) => void;
}

/** A running admin endpoint. */
export interface AdminHandle {
  url: string;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const FAULT_KEYS: (keyof LabFaults)[] = ['k8sErrorRate', 'k8s429Rate', 'k8sReadyzFailRate', 'k8sPodListFailAfter', 'openstackErrorRate', 'slowEvictionMs', 'upgradeHealthJobTimeout', 'stuckPods', 'hostsNeverReturn', 'vmBuildErrors', 'joinFailures', 'upgradeStaticPodStuck', 'apiserverCrashLoop'];
/** The faults whose value is a list of names (hosts, servers, pods); the others are numbers. */
export const LIST_FAULTS: ReadonlySet<string> = new Set(['stuckPods', 'hostsNeverReturn', 'vmBuildErrors', 'joinFailures', 'upgradeStaticPodStuck', 'apiserverCrashLoop']);

/** Validates a faults document: known keys, numbers or string lists. */
export function parseFaults(value: unknown): LabFaults {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'faults must be a JSON object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!FAULT_KEYS.includes(k as keyof LabFaults)) throw new HttpError(400, `unknown fault "${k}"; known: ${FAULT_KEYS.join(', ')}`);
    if (v === null) {
      out[k] = null;
      continue;
    }
    const isList = LIST_FAULTS.has(k);
    if (isList ? !Array.isArray(v) || v.some((x) => typeof x !== 'string') : typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new HttpError(400, `fault "${k}" must be ${isList ? 'a list of strings' : 'a non-negative number'}`);
    }
    if (k.endsWith('Rate') && (v as number) > 1) throw new HttpError(400, `fault "${k}" is a fraction between 0 and 1`);
    out[k] = v;
  }
  return out as LabFaults;
}

/** A host as /status shows it. */
export function hostStatus(host: LabHost): Record<string, unknown> {
  return {
    name: host.name,
    role: host.role,
    address: host.address,
    port: host.port,
    state: host.state,
    bootId: host.bootId,
    bootedAt: new Date(host.bootedAt).toISOString(),
    serverId: host.serverId ?? null,
    kubelet: { ...host.kubelet },
    kernel: { running: host.kernel.running, installed: [...host.kernel.installed] },
    rebootRequired: host.files.has('/var/run/reboot-required'),
  };
}

function hostDetail(host: LabHost): Record<string, unknown> {
  return {
    ...hostStatus(host),
    hostKey: { publicBase64: host.hostKey.publicBase64, fingerprintSha256: host.hostKey.fingerprintSha256 },
    packages: Object.fromEntries(host.packages),
    heldPackages: [...(host.heldPackages ?? [])].sort(),
    services: Object.fromEntries(host.services),
    enabledServices: [...(host.enabledServices ?? [])].sort(),
    files: Object.fromEntries([...host.files.keys()].sort().map((f) => [f, { mode: (host.fileModes?.get(f) ?? 0o644).toString(8), size: Buffer.byteLength(host.files.get(f)!) }])),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1 << 20) throw new HttpError(413, 'request too large');
    chunks.push(c as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

/** Starts the admin endpoint on 127.0.0.1 (any free port). */
export async function startAdmin(deps: AdminDeps): Promise<AdminHandle> {
  const { world } = deps;
  const expected = Buffer.from(`Bearer ${deps.token}`);

  const requireHost = (name: string): LabHost => {
    const host = world.hosts.get(name);
    if (!host) throw new HttpError(404, `no lab host named ${name}`);
    return host;
  };

  const route = async (method: string, path: string, req: IncomingMessage): Promise<[number, unknown, (() => void)?]> => {
    if (method === 'GET' && path === '/status') {
      return [
        200,
        {
          ...deps.info(),
          counters: world.counters,
          faults: world.faults,
          hosts: [...world.hosts.values()].map((h) => {
            // A control node's own API endpoint (its kube-apiserver), in labs that serve one per node.
            const apiserver = world.apiserverEndpoint(h.name);
            return { ...hostStatus(h), ...(apiserver ? { apiserver } : {}), ...deps.hostExtra?.(h) };
          }),
        },
      ];
    }
    if (method === 'GET' && path === '/counters') return [200, world.counters];
    if (method === 'POST' && path === '/counters/reset') {
      world.resetCounters();
      return [200, world.counters];
    }
    if (path === '/faults') {
      if (method === 'GET') return [200, world.faults];
      if (method === 'PUT' || method === 'PATCH') {
        const faults = parseFaults(await readJson(req));
        const next: Record<string, unknown> = method === 'PUT' ? {} : { ...world.faults };
        for (const [k, v] of Object.entries(faults)) {
          if (v === null) delete next[k];
          else next[k] = v;
        }
        world.faults = next as LabFaults;
        return [200, world.faults];
      }
    }
    let m = /^\/hosts\/([^/]+)(?:\/([a-z-]+))?$/.exec(path);
    if (m) {
      const host = requireHost(decodeURIComponent(m[1]!));
      const action = m[2];
      if (method === 'GET' && !action) return [200, hostDetail(host)];
      if (method === 'POST' && action === 'reboot-required') {
        const body = ((await readJson(req)) ?? {}) as { kernel?: boolean | string };
        // A pending reboot normally comes from a kernel update: install the newest kernel unless told not to.
        if (body.kernel !== false && !host.kernel.installed.includes(LATEST_KERNEL)) {
          installPackage(host, undefined, 'linux-image-amd64', candidateVersion(world, 'linux-image-amd64')!);
        } else {
          markRebootRequired(host, 'linux-image-amd64');
        }
        return [200, hostStatus(host)];
      }
      if (method === 'POST' && action === 'reboot') {
        if (host.state !== 'up') throw new HttpError(409, `host ${host.name} is ${host.state}`);
        world.rebootHost(host.name);
        return [202, hostStatus(host)];
      }
      if (method === 'POST' && action === 'certs') {
        const body = (await readJson(req)) as { name?: unknown; expiresInDays?: unknown } | undefined;
        if (typeof body?.name !== 'string' || typeof body.expiresInDays !== 'number' || !Number.isFinite(body.expiresInDays)) {
          throw new HttpError(400, 'body must be {"name": "apiserver" | "all" | ..., "expiresInDays": N}');
        }
        const backend = world.kubeadm;
        if (!backend?.setCertificateExpiry) throw new HttpError(409, 'this lab has no kubeadm certificates (no Kubernetes API)');
        try {
          return [200, { host: host.name, certificates: backend.setCertificateExpiry(host, body.name, body.expiresInDays) }];
        } catch (err) {
          throw new HttpError(400, (err as Error).message);
        }
      }
      if (method === 'POST' && action === 'exec') {
        const body = (await readJson(req)) as { command?: unknown; stdin?: unknown } | undefined;
        if (typeof body?.command !== 'string') throw new HttpError(400, 'body must be {"command": "...", "stdin"?: "..."}');
        // Test setup, not a cookbook action: it leaves the counters alone.
        const before = world.counters.ssh_mutations;
        const r = await runCaptured(host, world, body.command, typeof body.stdin === 'string' ? body.stdin : undefined);
        world.counters.ssh_mutations = before;
        if (r.reboot) world.rebootHost(host.name);
        return [200, { code: r.code, stdout: r.stdout, stderr: r.stderr, reboot: r.reboot }];
      }
    }
    const os = deps.openstack;
    if (os && method === 'POST' && path === '/openstack/application-credentials') {
      const body = ((await readJson(req)) ?? {}) as { name?: string };
      const created = os.identity.createAppCredential(body.name ?? `lab-${Date.now()}`);
      return [201, { ...created, authUrl: os.authUrl }];
    }
    if (os && method === 'POST' && path === '/openstack/tokens/expire') {
      os.identity.expireAllTokens();
      return [200, {}];
    }
    if (os && method === 'PUT' && path === '/openstack/token-lifetime') {
      const body = (await readJson(req)) as { ms?: number } | undefined;
      if (typeof body?.ms !== 'number' || body.ms <= 0) throw new HttpError(400, 'body must be {"ms": N}');
      os.identity.tokenLifetimeMs = body.ms;
      return [200, { ms: body.ms }];
    }
    if (os && path === '/openstack/quotas') {
      if (method === 'GET') return [200, os.cloud.quotas];
      if (method === 'PATCH' || method === 'PUT') {
        const body = (await readJson(req)) as Record<string, unknown> | undefined;
        for (const [k, v] of Object.entries(body ?? {})) {
          if (!(k in os.cloud.quotas) || typeof v !== 'number') throw new HttpError(400, `bad quota ${k}`);
          (os.cloud.quotas as unknown as Record<string, number>)[k] = v;
        }
        return [200, os.cloud.quotas];
      }
    }
    if (os && method === 'POST' && path === '/openstack/images') {
      const body = (await readJson(req)) as { name?: unknown } | undefined;
      if (typeof body?.name !== 'string' || !body.name) throw new HttpError(400, 'body must be {"name": "IMAGE"}');
      const img = os.cloud.addImage(body.name);
      return [201, { id: img.id, name: img.name }];
    }
    m = /^\/openstack\/servers\/([^/]+)$/.exec(path);
    if (os && m && method === 'GET') {
      const s = os.cloud.servers.get(m[1]!) ?? [...os.cloud.servers.values()].find((x) => x.name === m![1]);
      if (!s) throw new HttpError(404, `no server ${m[1]}`);
      return [200, { id: s.id, name: s.name, status: os.cloud.status(s), hypervisor: s.hypervisor ?? null, groupId: s.groupId ?? null, address: s.host.address }];
    }
    if (method === 'POST' && path === '/shutdown') return [202, { stopping: true }, deps.onShutdown];
    throw new HttpError(404, `no admin route ${method} ${path}`);
  };

  const server: Server = createServer((req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = (req.method ?? 'GET').toUpperCase();
    const reply = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    };
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    world.counters.requests.admin++;
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      reply(401, { error: 'missing or wrong bearer token (see adminToken in lab.json)' });
      return;
    }
    route(method, url.pathname, req).then(
      ([status, body, after]) => {
        reply(status, body);
        if (after) res.once('finish', after);
      },
      (err: unknown) => {
        if (err instanceof HttpError) reply(err.status, { error: err.message });
        else {
          deps.log?.(`admin ${method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
          reply(500, { error: (err as Error).message });
        }
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
