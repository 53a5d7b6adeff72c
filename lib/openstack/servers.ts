// Servers without duplicates or guesses. Nova allows two servers of one name and its POST /servers is not
// idempotent, so a create whose answer was lost (or that failed with 429/5xx) is never re-sent blindly: the
// names in the project decide whether it happened. Also pure: the request body of a create and what one poll
// of a server means to a wait.
import type { Clock } from '../core/clock.js';
import { InputError, messageOf } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import type { Log } from '../core/log.js';
import { registerSecret } from '../core/redact.js';
import { OpenStackPolicyMismatchError, OpenStackServerFaultError } from './errors.js';
import { type OpenStackHttp, isTransient } from './http.js';
import { type RawServerGroup, checkedMetadata, encodeUserData, existsError, normaliseGroup } from './lookup.js';
import type { Flavor, Image, Network, SecurityGroup, Server, ServerGroup, ServerGroupPolicy, ServerStatus } from './types.js';

/** Filters of listServers(). */
export interface ServerFilter {
  /** Name regex (Nova semantics: unanchored). */
  name?: string | RegExp;
  status?: ServerStatus;
}

/** What createServer() needs. Flavor, image, network and security groups are names or ids. */
export interface CreateServerSpec {
  name: string;
  flavor: string;
  image: string;
  network: string | readonly string[];
  securityGroups?: readonly string[];
  /** Server group (name, id or the group) for the scheduler hint; Planned (dry-run) is accepted and skipped. */
  serverGroup?: string | ServerGroup | Planned;
  metadata?: Readonly<Record<string, string>>;
  /** Cloud-init user data; sent base64-encoded. */
  userData?: string | Buffer;
  keyName?: string;
  availabilityZone?: string;
  /** Refuse when a server of this name exists (default true): Nova itself allows duplicates. */
  unique?: boolean;
}

/** Options of waitForStatus(). */
export interface ServerWaitOptions {
  timeoutMs: number;
  /** First poll interval; grows with backoff (default 1 s). */
  pollMs?: number;
  /** Called with every observed state (progress display). */
  onPoll?: (server: Server) => void;
}

/** The objects a create refers to, already looked up by name or id. */
export interface ResolvedServerRefs {
  flavor: Flavor;
  image: Image;
  networks: readonly Network[];
  securityGroups: readonly SecurityGroup[];
  group?: ServerGroup;
}

/** The POST /servers body of a create (pure), and the change record's detail. */
export function createServerRequest(spec: CreateServerSpec, refs: ResolvedServerRefs): { body: Record<string, unknown>; detail: Record<string, unknown> } {
  const server: Record<string, unknown> = {
    name: spec.name,
    flavorRef: refs.flavor.id,
    imageRef: refs.image.id,
    networks: refs.networks.map((n) => ({ uuid: n.id })),
  };
  if (refs.securityGroups.length > 0) server.security_groups = refs.securityGroups.map((g) => ({ name: g.name }));
  if (spec.metadata && Object.keys(spec.metadata).length > 0) server.metadata = checkedMetadata(spec.metadata);
  if (spec.userData !== undefined) server.user_data = encodeUserData(spec.userData);
  if (spec.keyName) server.key_name = spec.keyName;
  if (spec.availabilityZone) server.availability_zone = spec.availabilityZone;
  const body: Record<string, unknown> = { server };
  if (refs.group) body['os:scheduler_hints'] = { group: refs.group.id };
  const detail = {
    flavor: refs.flavor.name,
    image: refs.image.name,
    networks: refs.networks.map((n) => n.name),
    serverGroup: refs.group?.name ?? (isPlanned(spec.serverGroup) ? 'planned' : undefined),
  };
  return { body, detail };
}

/**
 * What one poll of a waited-for server means: `{ server }` when it reached a wanted status (a server that is
 * gone counts when DELETED is wanted), false to poll again, or the typed error of a server that failed or
 * disappeared. `current` is undefined when the server no longer exists.
 */
export function serverWaitStep(
  current: Server | undefined,
  wanted: ReadonlySet<ServerStatus>,
  server: { id: string; name: string; goneBecause?: unknown },
): { server: Server | undefined } | false | OpenStackServerFaultError {
  const { id, name } = server;
  if (!current) {
    if (wanted.has('DELETED')) return { server: undefined };
    return new OpenStackServerFaultError(`server ${name} (${id}) disappeared while waiting for ${[...wanted].join('/')}`, {
      cause: server.goneBecause,
      context: { server: id },
      hint: 'someone deleted it; look at the project activity',
    });
  }
  if (wanted.has(current.status)) return { server: current };
  // A failed server that is being deleted stays ERROR until it is gone: only other waits fail on it.
  if (current.status === 'ERROR' && !wanted.has('DELETED')) {
    const fault = current.fault?.message ?? 'no fault message';
    return new OpenStackServerFaultError(`server ${current.name} (${id}) went to ERROR: ${fault}`, {
      context: { server: id, name: current.name, fault: current.fault },
      hint: 'delete the failed server and try again; if it repeats, give the server id to the cloud admins',
    });
  }
  return false;
}

/** What postServer() needs from the client. */
export interface PostServerDeps {
  http: OpenStackHttp;
  log: Log;
  clock: Clock;
  /** Every server with exactly this name, now. */
  namesakes(name: string): Promise<Server[]>;
  /** A server by id. */
  getServer(id: string): Promise<Server>;
}

/**
 * Sends the create and returns the new server. The name is checked again right before every POST: a namesake
 * that appeared meanwhile is refused (for a unique name). After a transient failure, exactly one new server of
 * the name (not in `preexisting`) is ours; none means the create did not happen and is sent again, within the
 * transport's attempts and deadline; several cannot be told apart and fail.
 */
export async function postServer(deps: PostServerDeps, name: string, body: Record<string, unknown>, options: { unique: boolean; preexisting: ReadonlySet<string>; flavor: string; image: string }): Promise<Server> {
  const { http, log } = deps;
  const fresh = async (): Promise<{ now: Server[]; fresh: Server[] }> => {
    const now = await deps.namesakes(name);
    return { now, fresh: now.filter((s) => !options.preexisting.has(s.id)) };
  };
  const began = deps.clock.now();
  let failed: unknown;
  for (let attempt = 1; ; attempt++) {
    // Right before the POST: another run (or another inventory name for this cluster) may have created it
    // since the caller's check, and a POST of ours whose answer was lost may have created it too.
    const seen = await fresh();
    if (failed !== undefined && seen.fresh.length === 1) {
      const found = seen.fresh[0]!;
      log.warn(`create of ${name} failed (${messageOf(failed)}) but the server exists (${found.id}); using it`, { server: found.id });
      return found;
    }
    // Several new namesakes cannot be told apart; any namesake at all is refused for a unique name.
    if (failed !== undefined && seen.fresh.length > 1) throw failed;
    if (options.unique && seen.now.length > 0) throw existsError(name, seen.now[0]!);
    try {
      const res = await http.call<{ server: { id: string; adminPass?: string } }>('compute', 'POST', '/servers', { body, what: `create server ${name}` });
      registerSecret(res.body.server.adminPass);
      const id = res.body.server.id;
      log.info(`created server ${name} (${id}) flavor ${options.flavor} image ${options.image}`, { server: id });
      return deps.getServer(id);
    } catch (err) {
      if (!isTransient(err)) throw err;
      const delay = http.retryDelay(attempt, err, began);
      // Out of attempts: one last look, so a create that did happen is still found.
      if (delay === undefined) {
        const last = await fresh().catch(() => ({ fresh: [] as Server[] }));
        if (last.fresh.length === 1) return last.fresh[0]!;
        throw err;
      }
      log.debug(`POST /servers (create ${name}) failed (${messageOf(err)}); checking the name, then attempt ${attempt + 1} in ${delay}ms`);
      failed = err;
      await http.pause(delay);
    }
  }
}

const POLICIES: readonly string[] = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'];
// Soft policies need microversion 2.15; below 2.64 the body carries a `policies` list.
const SERVER_GROUP_MICROVERSION = { 'X-OpenStack-Nova-API-Version': '2.15', 'OpenStack-API-Version': 'compute 2.15' };

/**
 * The existing group to reuse for `name` with `policy` (undefined: none, create it). InputError for a policy
 * Nova does not know; OpenStackPolicyMismatchError for a group with another policy: its members were placed
 * under other rules.
 */
export function reusableServerGroup(existing: ServerGroup | undefined, name: string, policy: ServerGroupPolicy): ServerGroup | undefined {
  if (!POLICIES.includes(policy)) {
    throw new InputError(`unknown server group policy ${policy}`, { hint: 'use affinity, anti-affinity, soft-affinity or soft-anti-affinity' });
  }
  if (existing && existing.policy !== policy) {
    throw new OpenStackPolicyMismatchError(`server group ${name} exists with policy ${existing.policy}, not ${policy}`, {
      context: { group: existing.id, name, policy: existing.policy, wanted: policy, members: existing.members.length },
      hint: `fix the role's serverGroup.policy in the inventory, or recreate the group (its ${existing.members.length} members must move)`,
    });
  }
  return existing;
}

/** Creates a server group; after a transient failure, a group of the name that exists now is ours. */
export async function postServerGroup(deps: { http: OpenStackHttp; log: Log; find(name: string): Promise<ServerGroup | undefined> }, name: string, policy: ServerGroupPolicy): Promise<ServerGroup> {
  let raw: RawServerGroup;
  try {
    const res = await deps.http.call<{ server_group: RawServerGroup }>('compute', 'POST', '/os-server-groups', {
      body: { server_group: { name, policies: [policy] } },
      headers: SERVER_GROUP_MICROVERSION,
      // 429 and 503 were not processed; other failures are looked up by name below, never re-sent blindly.
      retryUnprocessed: true,
      what: `create server group ${name}`,
    });
    raw = res.body.server_group;
  } catch (err) {
    if (!isTransient(err)) throw err;
    const found = await deps.find(name).catch(() => undefined);
    if (!found) throw err;
    deps.log.warn(`create of server group ${name} failed (${messageOf(err)}) but the group exists (${found.id}); using it`, { serverGroup: found.id });
    return found;
  }
  const group = normaliseGroup(raw);
  deps.log.info(`created server group ${name} (${group.id}, ${policy})`, { serverGroup: group.id });
  return group;
}
