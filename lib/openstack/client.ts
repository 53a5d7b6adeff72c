// The OpenStack client cookbooks use: Nova servers, server groups, flavors and quotas, Glance images, Neutron
// networks and security groups. Thin and typed: each method is one or two API calls. Every method is declared
// read or mutate; mutations run through the gate, so in --dry-run they return Planned and send nothing.
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { InputError } from '../core/errors.js';
import { type Gate, type OperationTable, type Planned, isPlanned } from '../core/gate.js';
import { nullLog, type Log } from '../core/log.js';
import { waitFor } from '../core/retry.js';
import { OpenStackAmbiguousError, OpenStackLookupError, OpenStackNotFoundError } from './errors.js';
import type { OpenStackHttp } from './http.js';
import { type RawServerGroup, describe, existsError, normaliseGroup, pickIPv4, pickOne, requireId, requireServerName, required } from './lookup.js';
import {
  type CreateServerSpec,
  type ServerFilter,
  type ServerWaitOptions,
  createServerRequest,
  postServer,
  postServerGroup,
  reusableServerGroup,
  serverWaitStep,
} from './servers.js';
import { type AbsoluteLimits, fetchAbsoluteLimits } from './quota.js';
import type { ComputeQuotas, Flavor, Image, Network, SecurityGroup, Server, ServerGroup, ServerGroupPolicy, ServerStatus } from './types.js';

/** Options of an OpenStackClient. */
export interface OpenStackClientOptions {
  http: OpenStackHttp;
  gate: Gate;
  log?: Log;
  clock?: Clock;
  signal?: AbortSignal;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The OpenStack client of one project. */
export class OpenStackClient {
  /** Every public method and whether it changes the cloud. */
  static readonly operations: OperationTable<OpenStackClient> = Object.freeze({
    listServers: 'read',
    getServer: 'read',
    findServer: 'read',
    createServer: 'mutate',
    deleteServer: 'mutate',
    rebootServer: 'mutate',
    waitForStatus: 'read',
    getConsoleOutput: 'read',
    serverIPv4: 'read',
    serverAddress: 'read',
    listServerGroups: 'read',
    findServerGroup: 'read',
    ensureServerGroup: 'mutate',
    listFlavors: 'read',
    findFlavor: 'read',
    listImages: 'read',
    findImage: 'read',
    findNetwork: 'read',
    findSecurityGroup: 'read',
    getQuotas: 'read',
    getLimits: 'read',
    projectId: 'read',
  });

  private readonly http: OpenStackHttp;
  private readonly gate: Gate;
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly signal: AbortSignal | undefined;

  constructor(options: OpenStackClientOptions) {
    this.http = options.http;
    this.gate = options.gate;
    this.log = options.log ?? nullLog;
    this.clock = options.clock ?? systemClock;
    this.signal = options.signal;
  }

  /** The project id the token is scoped to. */
  async projectId(): Promise<string> {
    const token = await this.http.auth.token();
    if (!token.project) throw new OpenStackLookupError('the token is not scoped to a project', { hint: 'set a project in clouds.yaml' });
    return token.project.id;
  }

  // ---- servers -------------------------------------------------------------------------------------------

  /** Servers of the project, with details, optionally filtered by name regex and status. */
  async listServers(filter: ServerFilter = {}): Promise<Server[]> {
    const name = filter.name instanceof RegExp ? filter.name.source : filter.name;
    const servers = await this.gate.read(() =>
      this.http.list<Server>('compute', '/servers/detail', 'servers', { query: { name, status: filter.status } }),
    );
    // Filtered here as well: Nova's regex is applied by the database, and not every API implements it.
    const re = filter.name instanceof RegExp ? filter.name : filter.name !== undefined ? new RegExp(filter.name) : undefined;
    return servers.filter((s) => (!re || re.test(s.name)) && (!filter.status || s.status === filter.status));
  }

  /** One server by id; OpenStackNotFoundError when it does not exist. */
  async getServer(id: string): Promise<Server> {
    requireId(id, 'server');
    const res = await this.gate.read(() => this.http.call<{ server: Server }>('compute', 'GET', `/servers/${encodeURIComponent(id)}`));
    return res.body.server;
  }

  /** Every server with exactly this name (Nova's name filter is a regex, so exactness is checked here). */
  private async namesakes(name: string): Promise<Server[]> {
    return (await this.listServers({ name })).filter((s) => s.name === name);
  }

  /** The server with exactly this name, undefined when there is none; OpenStackAmbiguousError for several. */
  async findServer(name: string): Promise<Server | undefined> {
    requireServerName(name);
    // The raw name as a Nova regex matches a superset (dots match any character); exactness is checked here.
    const found = (await this.listServers({ name })).filter((s) => s.name === name);
    if (found.length > 1) {
      throw new OpenStackAmbiguousError(`${found.length} servers are named ${name}: ${found.map((s) => s.id).join(', ')}`, {
        context: { name, ids: found.map((s) => s.id) },
        hint: 'delete the duplicate (by id) or address the server by id',
      });
    }
    return found[0];
  }

  /**
   * Creates a server and returns it as Nova shows it right after the request (usually BUILD); Planned in
   * dry-run. Names are resolved first, so dry-run still fails for an unknown flavor, image or network. The name
   * is checked again right before every POST (names are the project's invariant; Nova allows duplicates): a
   * namesake that appeared meanwhile is refused with OpenStackExistsError. A POST that failed transiently (lost
   * answer, 429, 5xx) is never repeated blindly: when exactly one new server of the name exists it is ours;
   * when none does, the create did not happen and is sent again, within the transport's attempts and deadline.
   */
  async createServer(spec: CreateServerSpec): Promise<Server | Planned> {
    requireServerName(spec.name);
    const unique = spec.unique !== false;
    // Servers of this name that exist before the create: a lost answer must not be mistaken for one of them.
    // Checked here too so that a dry-run predicts the refusal.
    const namesakes = await this.namesakes(spec.name);
    if (unique && namesakes.length > 0) throw existsError(spec.name, namesakes[0]!);
    const preexisting = new Set(namesakes.map((s) => s.id));
    const flavor = await this.requireFlavor(spec.flavor);
    const image = await this.requireImage(spec.image);
    const networks = await Promise.all((typeof spec.network === 'string' ? [spec.network] : spec.network).map((n) => this.requireNetwork(n)));
    const securityGroups = await Promise.all((spec.securityGroups ?? []).map((g) => this.requireSecurityGroup(g)));
    let group: ServerGroup | undefined;
    if (spec.serverGroup !== undefined && !isPlanned(spec.serverGroup)) {
      group = typeof spec.serverGroup === 'string' ? await this.requireServerGroup(spec.serverGroup) : spec.serverGroup;
    }
    const { body, detail } = createServerRequest(spec, { flavor, image, networks, securityGroups, group });
    return this.gate.mutate({ system: 'openstack', target: `server/${spec.name}`, action: 'create server', detail }, () =>
      postServer(
        { http: this.http, log: this.log, clock: this.clock, namesakes: (n) => this.namesakes(n), getServer: (id) => this.getServer(id) },
        spec.name,
        body,
        { unique, preexisting, flavor: flavor.name, image: image.name },
      ),
    );
  }

  /** Deletes a server (by id or the server); a server that is already gone counts as deleted. */
  async deleteServer(server: string | Server): Promise<void | Planned> {
    const { id, name } = typeof server === 'string' ? { id: server, name: server } : server;
    requireId(id, 'server');
    return this.gate.mutate({ system: 'openstack', target: `server/${name}`, action: 'delete server', detail: { id } }, async () => {
      try {
        // A repeated DELETE of a server is harmless, so it may be retried on 5xx and lost answers.
        await this.http.call('compute', 'DELETE', `/servers/${encodeURIComponent(id)}`, { idempotent: true, what: `delete server ${name}` });
        this.log.info(`deleting server ${name} (${id})`, { server: id });
      } catch (err) {
        if (!(err instanceof OpenStackNotFoundError)) throw err;
        this.log.info(`server ${name} (${id}) is already gone`, { server: id });
      }
    });
  }

  /** Reboots a server, SOFT (ACPI) or HARD (power cycle). 409 when its state does not allow it. */
  async rebootServer(server: string | Server, type: 'SOFT' | 'HARD' = 'SOFT'): Promise<void | Planned> {
    const { id, name } = typeof server === 'string' ? { id: server, name: server } : server;
    requireId(id, 'server');
    if (type !== 'SOFT' && type !== 'HARD') throw new InputError(`reboot type must be SOFT or HARD, not ${String(type)}`);
    return this.gate.mutate({ system: 'openstack', target: `server/${name}`, action: `${type.toLowerCase()} reboot server`, detail: { id } }, async () => {
      // Repeated only when the API says it did not process the request (429, 503): two reboots are not one.
      await this.http.call('compute', 'POST', `/servers/${encodeURIComponent(id)}/action`, { body: { reboot: { type } }, retryUnprocessed: true, what: `${type} reboot of ${name}` });
      this.log.info(`${type} reboot of server ${name} (${id}) requested`, { server: id });
    });
  }

  /**
   * Polls a server until it reaches one of `status` (or, for "DELETED", until it is gone: resolves undefined).
   * ERROR fails at once with the server's fault message. In dry-run a wait that is not already satisfied stops
   * planning (DryRunStop), as does a wait for a server that is only planned.
   */
  async waitForStatus(server: string | Server | Planned, status: ServerStatus | readonly ServerStatus[], options: ServerWaitOptions): Promise<Server | undefined> {
    const wanted = new Set(typeof status === 'string' ? [status] : status);
    const what = `server ${describe(server)} to be ${[...wanted].join(' or ')}`;
    if (isPlanned(server)) {
      this.gate.stopIfPlanning(what);
      throw new InputError('a planned server can only be waited for in dry-run');
    }
    const id = typeof server === 'string' ? server : server.id;
    const name = typeof server === 'string' ? server : server.name;
    const result = await waitFor<{ server: Server | undefined }>(
      async () => {
        let current: Server | undefined;
        let goneBecause: unknown;
        try {
          current = await this.getServer(id);
        } catch (err) {
          if (!(err instanceof OpenStackNotFoundError)) throw err;
          goneBecause = err;
        }
        if (current) options.onPoll?.(current);
        const step = serverWaitStep(current, wanted, { id, name, goneBecause });
        if (step instanceof Error) throw step;
        return step;
      },
      {
        what,
        timeoutMs: options.timeoutMs,
        backoff: { initialMs: options.pollMs ?? 1000, maxMs: Math.max(options.pollMs ?? 1000, 5000), factor: 1.5 },
        gate: this.gate,
        clock: this.clock,
        signal: this.signal,
        context: { server: id },
      },
    );
    return result.server;
  }

  /** The server's console log (the last `lines` lines). Nova serves it through a POST action; it only reads. */
  async getConsoleOutput(server: string | Server, lines?: number): Promise<string> {
    const id = typeof server === 'string' ? server : server.id;
    requireId(id, 'server');
    const res = await this.gate.read(() =>
      this.http.call<{ output: string }>('compute', 'POST', `/servers/${encodeURIComponent(id)}/action`, {
        body: { 'os-getConsoleOutput': lines === undefined ? {} : { length: lines } },
        readOnly: true,
        what: `console output of ${describe(server)}`,
      }),
    );
    return res.body.output ?? '';
  }

  /** The server's IPv4 address: on `network` if given, fixed before floating; undefined when it has none yet. */
  async serverIPv4(server: string | Server, options: { network?: string; type?: 'fixed' | 'floating' } = {}): Promise<string | undefined> {
    const s = typeof server === 'string' ? await this.getServer(server) : server;
    return pickIPv4(s, options);
  }

  /**
   * The IPv4 address of the server with exactly this name (how the runner reaches hosts when the inventory
   * says ssh.addresses: openstack). OpenStackLookupError when there is no such server or it has no address yet.
   */
  async serverAddress(name: string, options: { network?: string } = {}): Promise<string> {
    const server = await this.findServer(name);
    if (!server) {
      throw new OpenStackLookupError(`no server named ${name} in the project`, {
        context: { name },
        hint: 'check the host name, or create the VM first',
      });
    }
    const address = pickIPv4(server, options);
    if (!address) {
      throw new OpenStackLookupError(`server ${name} (${server.id}, ${server.status}) has no IPv4 address${options.network ? ` on ${options.network}` : ''}`, {
        context: { name, id: server.id, status: server.status, networks: Object.keys(server.addresses ?? {}) },
        hint: 'wait until the server is ACTIVE, or check its network',
      });
    }
    return address;
  }

  // ---- server groups -------------------------------------------------------------------------------------

  /** Server groups of the project. */
  async listServerGroups(): Promise<ServerGroup[]> {
    const groups = await this.gate.read(() => this.http.list<RawServerGroup>('compute', '/os-server-groups', 'server_groups'));
    return groups.map(normaliseGroup);
  }

  /** The server group with this name or id, undefined when none. */
  async findServerGroup(nameOrId: string): Promise<ServerGroup | undefined> {
    const groups = await this.listServerGroups();
    return pickOne(groups, nameOrId, 'server group');
  }

  /**
   * The server group `name` with `policy`, created when missing (Planned in dry-run). An existing group with
   * another policy is refused: its members were placed under other rules.
   */
  async ensureServerGroup(name: string, policy: ServerGroupPolicy): Promise<ServerGroup | Planned> {
    const existing = reusableServerGroup(await this.findServerGroup(name), name, policy);
    if (existing) return existing;
    return this.gate.mutate({ system: 'openstack', target: `server-group/${name}`, action: 'create server group', detail: { policy } }, () =>
      postServerGroup({ http: this.http, log: this.log, find: (n) => this.findServerGroup(n) }, name, policy),
    );
  }

  // ---- flavors, images, networks, security groups, quotas ------------------------------------------------

  /** All flavors visible to the project. */
  async listFlavors(): Promise<Flavor[]> {
    return this.gate.read(() => this.http.list<Flavor>('compute', '/flavors/detail', 'flavors'));
  }

  /** The flavor with this id or name, undefined when none. */
  async findFlavor(nameOrId: string): Promise<Flavor | undefined> {
    return pickOne(await this.listFlavors(), nameOrId, 'flavor');
  }

  /** Images visible to the project, optionally only those with this exact name. */
  async listImages(name?: string): Promise<Image[]> {
    const images = await this.gate.read(() => this.http.list<Image>('image', '/images', 'images', { query: { name } }));
    return name === undefined ? images : images.filter((i) => i.name === name);
  }

  /** The image with this id or name (active ones preferred), undefined when none. */
  async findImage(nameOrId: string): Promise<Image | undefined> {
    if (UUID.test(nameOrId)) {
      try {
        const res = await this.gate.read(() => this.http.call<Image>('image', 'GET', `/images/${encodeURIComponent(nameOrId)}`));
        return res.body;
      } catch (err) {
        if (!(err instanceof OpenStackNotFoundError)) throw err;
      }
    }
    const byName = await this.listImages(nameOrId);
    const active = byName.filter((i) => i.status === 'active');
    return pickOne(active.length > 0 ? active : byName, nameOrId, 'image');
  }

  /** The network with this id or name, undefined when none. */
  async findNetwork(nameOrId: string): Promise<Network | undefined> {
    return this.findNeutron<Network>('networks', nameOrId, 'network');
  }

  /** The security group with this id or name, undefined when none. */
  async findSecurityGroup(nameOrId: string): Promise<SecurityGroup | undefined> {
    return this.findNeutron<SecurityGroup>('security-groups', nameOrId, 'security group');
  }

  /** Compute quotas of the project with their use. */
  async getQuotas(): Promise<ComputeQuotas> {
    const project = await this.projectId();
    const res = await this.gate.read(() =>
      this.http.call<{ quota_set: ComputeQuotas }>('compute', 'GET', `/os-quota-sets/${encodeURIComponent(project)}/detail`),
    );
    return res.body.quota_set;
  }

  /** Nova's absolute limits (GET /limits, as `openstack limits show --absolute`): quotas and their use. */
  async getLimits(): Promise<AbsoluteLimits> {
    return fetchAbsoluteLimits(this.http, this.gate);
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private async findNeutron<T extends { id: string; name: string }>(collection: string, nameOrId: string, kind: string): Promise<T | undefined> {
    const key = collection.replace(/-/g, '_');
    const query = UUID.test(nameOrId) ? { id: nameOrId } : { name: nameOrId };
    const items = await this.gate.read(() => this.http.list<T>('network', `/${collection}`, key, { query }));
    return pickOne(items, nameOrId, kind);
  }

  private async requireFlavor(nameOrId: string): Promise<Flavor> {
    return required(await this.findFlavor(nameOrId), 'flavor', nameOrId, async () => (await this.listFlavors()).map((f) => f.name));
  }

  private async requireImage(nameOrId: string): Promise<Image> {
    return required(await this.findImage(nameOrId), 'image', nameOrId, async () => (await this.listImages()).map((i) => i.name));
  }

  private async requireNetwork(nameOrId: string): Promise<Network> {
    return required(await this.findNetwork(nameOrId), 'network', nameOrId, async () => []);
  }

  private async requireSecurityGroup(nameOrId: string): Promise<SecurityGroup> {
    return required(await this.findSecurityGroup(nameOrId), 'security group', nameOrId, async () => []);
  }

  private async requireServerGroup(nameOrId: string): Promise<ServerGroup> {
    return required(await this.findServerGroup(nameOrId), 'server group', nameOrId, async () => (await this.listServerGroups()).map((g) => g.name));
  }
}

export { encodeUserData, pickIPv4 } from './lookup.js';
export type { CreateServerSpec, ServerFilter, ServerWaitOptions } from './servers.js';
