// URL routing of the lab API (which resource, namespace, name, subresource a path names) and the answers of
// its health endpoints (/readyz, /livez, /healthz): a node's own state first, then the injected readiness
// fault and the lab's real etcd, as the apiserver's own checks report them.
import type { World } from '../world.js';
import type { ResourceRegistry, ResourceSpec } from './resources.js';

/** What a resource path names. */
export interface Route {
  group: string;
  version: string;
  spec: ResourceSpec;
  namespace?: string;
  name?: string;
  sub?: string;
  watchPath: boolean;
}

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/readyz', '/livez', '/version/']);

/** True for the paths anyone may GET without a token: /version and the health endpoints (with their checks). */
export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || path.startsWith('/readyz/') || path.startsWith('/livez/') || path.startsWith('/healthz/');
}

/** The route of `/api/v1/...` or `/apis/GROUP/VERSION/...` path segments, or undefined when none matches. */
export function routeOf(registry: ResourceRegistry, segs: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const spec = registry.lookup(group, version, rest[2]!);
    if (spec?.namespaced) return { group, version, spec, namespace: rest[1], name: rest[3], sub: rest[4], watchPath };
  }
  const spec = registry.lookup(group, version, rest[0] ?? '');
  if (!spec) return undefined;
  if (rest.length > 3) return undefined;
  return { group, version, spec, name: rest[1], sub: rest[2], watchPath };
}

/** A failing check of the one control node a per-node endpoint stands for. */
export type NodeHealth = { ok: true } | { ok: false; check: string; reason: string };

/** The answer of a health endpoint (`path` without /version): status, body and extra headers. */
export async function healthAnswer(world: World, path: string, verbose: boolean, node?: NodeHealth): Promise<{ code: number; body: string; headers?: Record<string, string> }> {
  const what = path.split('/')[1]!;
  if (node && !node.ok) return { code: 500, body: `[+]ping ok\n[+]log ok\n[-]${node.check} failed: reason withheld\n${what} check failed\n`, headers: { 'X-Lab-Reason': node.reason } };
  const readiness = path === '/readyz' || path.startsWith('/readyz/');
  // The etcd check reflects the lab's real etcd (when it runs one), as the apiserver's own check does.
  const etcd = readiness || path === '/healthz' ? await world.etcd?.health() : undefined;
  // The k8sReadyzFailRate fault: the readiness check fails as a real one does when etcd is unreachable.
  const rate = world.faults.k8sReadyzFailRate ?? 0;
  if (readiness && rate > 0 && world.random() < rate) return { code: 500, body: `[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n` };
  if (etcd && !etcd.ok) return { code: 500, body: `[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n${path.slice(1)} check failed\n` };
  if (verbose) return { code: 200, body: `[+]ping ok\n[+]log ok\n[+]etcd ok\n${path.slice(1)} check passed\n` };
  return { code: 200, body: 'ok' };
}
