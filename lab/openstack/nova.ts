// Nova v2.1 over the lab cloud: servers (list/detail with Nova's filters, show, create, delete, actions),
// flavors, server groups, keypairs, quota sets and limits, with microversions up to 2.79 where they change a
// body (flavor embedded in servers from 2.47, server group `policy` from 2.64, ...).
import { randomBytes } from 'node:crypto';
import type { Cloud, ServerGroup, ServerRecord } from './cloud.js';
import { ApiError, type ApiRequest, type ApiResponse, isoSeconds, match, objectBody } from './http.js';

/** Highest microversion the lab's Nova speaks. */
export const MAX_MICROVERSION = '2.79';
const MIN_MICROVERSION = '2.1';

type Version = [number, number];

function parseVersion(v: string): Version | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function atLeast(v: Version, minor: number): boolean {
  return v[0] > 2 || (v[0] === 2 && v[1] >= minor);
}

/** The microversion a request asks for (OpenStack-API-Version or the legacy Nova header). */
export function requestedMicroversion(headers: ApiRequest['headers']): Version {
  let raw: string | undefined;
  const modern = headers['openstack-api-version'];
  if (typeof modern === 'string') {
    const m = /(?:^|,)\s*compute\s+([^,\s]+)/i.exec(modern);
    if (m) raw = m[1];
  }
  const legacy = headers['x-openstack-nova-api-version'];
  if (raw === undefined && typeof legacy === 'string') raw = legacy;
  if (raw === undefined) return [2, 1];
  if (raw === 'latest') return parseVersion(MAX_MICROVERSION)!;
  const v = parseVersion(raw);
  const max = parseVersion(MAX_MICROVERSION)!;
  if (!v) throw new ApiError(400, `Invalid API version request: ${raw}`);
  if (v[0] !== 2 || v[1] < 1 || v[1] > max[1]) {
    throw new ApiError(406, `Version ${raw} is not supported by the API. Minimum is ${MIN_MICROVERSION} and maximum is ${MAX_MICROVERSION}.`);
  }
  return v;
}

function versionHeaders(v: Version): Record<string, string> {
  const s = `${v[0]}.${v[1]}`;
  return { 'OpenStack-API-Version': `compute ${s}`, 'X-OpenStack-Nova-API-Version': s, Vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version' };
}

/** The compute version document. */
export function computeVersionDoc(base: string): Record<string, unknown> {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_MICROVERSION,
    min_version: MIN_MICROVERSION,
    updated: '2013-07-23T11:33:21Z',
    links: [
      { rel: 'self', href: `${base}/compute/v2.1/` },
      { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}

/** Nova handlers bound to a cloud. */
export class Nova {
  constructor(readonly cloud: Cloud) {}

  private link(base: string, kind: string, id: string): { rel: string; href: string }[] {
    return [
      { rel: 'self', href: `${base}/compute/v2.1/${this.cloud.projectId}/${kind}/${id}` },
      { rel: 'bookmark', href: `${base}/compute/${this.cloud.projectId}/${kind}/${id}` },
    ];
  }

  private flavorView(f: Cloud['flavors'][number], base: string, v: Version, detail: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = { id: f.id, name: f.name, links: this.link(base, 'flavors', f.id) };
    if (atLeast(v, 55)) out.description = null;
    if (!detail) return out;
    Object.assign(out, {
      ram: f.ram,
      disk: f.disk,
      vcpus: f.vcpus,
      'OS-FLV-EXT-DATA:ephemeral': 0,
      swap: atLeast(v, 75) ? 0 : '',
      'os-flavor-access:is_public': true,
      rxtx_factor: 1.0,
      'OS-FLV-DISABLED:disabled': false,
    });
    if (atLeast(v, 61)) out.extra_specs = {};
    return out;
  }

  /** A server as GET /servers/{id} shows it. */
  serverView(s: ServerRecord, base: string, v: Version): Record<string, unknown> {
    const c = this.cloud;
    const status = c.status(s);
    const vmState = { BUILD: 'building', ACTIVE: 'active', REBOOT: 'active', HARD_REBOOT: 'active', ERROR: 'error', SHUTOFF: 'stopped' }[status] ?? 'active';
    const taskState = s.taskState ?? (status === 'REBOOT' ? 'reboot_started' : status === 'HARD_REBOOT' ? 'reboot_started_hard' : null);
    const addresses =
      s.status === 'ERROR' && !s.launchedAt
        ? {}
        : { [s.network.name]: [{ version: 4, addr: s.host.address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': s.mac }] };
    const out: Record<string, unknown> = {
      id: s.id,
      name: s.name,
      status,
      tenant_id: c.projectId,
      user_id: c.userId,
      metadata: s.metadata,
      hostId: c.hostId(s),
      image: { id: s.image.id, links: [{ rel: 'bookmark', href: `${base}/compute/${c.projectId}/images/${s.image.id}` }] },
      flavor: atLeast(v, 47)
        ? { vcpus: s.flavor.vcpus, ram: s.flavor.ram, disk: s.flavor.disk, ephemeral: 0, swap: 0, original_name: s.flavor.name, extra_specs: {} }
        : { id: s.flavor.id, links: [{ rel: 'bookmark', href: `${base}/compute/${c.projectId}/flavors/${s.flavor.id}` }] },
      created: isoSeconds(s.created),
      updated: isoSeconds(s.updated),
      addresses,
      accessIPv4: '',
      accessIPv6: '',
      links: this.link(base, 'servers', s.id),
      'OS-DCF:diskConfig': 'MANUAL',
      progress: status === 'BUILD' ? 0 : status === 'ACTIVE' ? 0 : 0,
      'OS-EXT-AZ:availability_zone': s.hypervisor ? 'nova' : '',
      config_drive: '',
      key_name: s.keyName,
      'OS-SRV-USG:launched_at': s.launchedAt ? new Date(s.launchedAt).toISOString().replace('Z', '') : null,
      'OS-SRV-USG:terminated_at': null,
      'OS-EXT-SRV-ATTR:host': s.hypervisor ?? null,
      'OS-EXT-SRV-ATTR:instance_name': `instance-${s.id.slice(0, 8)}`,
      'OS-EXT-SRV-ATTR:hypervisor_hostname': s.hypervisor ? `${s.hypervisor}.lab.internal` : null,
      'OS-EXT-STS:task_state': taskState,
      'OS-EXT-STS:vm_state': vmState,
      'OS-EXT-STS:power_state': status === 'ACTIVE' || status === 'REBOOT' || status === 'HARD_REBOOT' ? 1 : status === 'SHUTOFF' ? 4 : 0,
      'os-extended-volumes:volumes_attached': [],
      security_groups: s.securityGroups.map((name) => ({ name })),
    };
    if (s.fault) out.fault = { code: s.fault.code, message: s.fault.message, created: isoSeconds(s.fault.created) };
    if (atLeast(v, 9)) out.locked = false;
    if (atLeast(v, 16)) out.host_status = s.hypervisor ? 'UP' : '';
    if (atLeast(v, 19)) out.description = null;
    if (atLeast(v, 26)) out.tags = [];
    if (atLeast(v, 71)) out.server_groups = s.groupId ? [s.groupId] : [];
    if (atLeast(v, 73)) out.locked_reason = null;
    return out;
  }

  private groupView(g: ServerGroup, v: Version): Record<string, unknown> {
    const base: Record<string, unknown> = { id: g.id, name: g.name, members: [...g.members], project_id: this.cloud.projectId, user_id: this.cloud.userId };
    if (atLeast(v, 64)) return { ...base, policy: g.policy, rules: {} };
    return { ...base, policies: [g.policy], metadata: {} };
  }

  private filterServers(req: ApiRequest): ServerRecord[] {
    const q = req.query;
    let list = [...this.cloud.servers.values()];
    const name = q.get('name');
    if (name) {
      // Nova matches names as a regular expression (re.search).
      let re: RegExp;
      try {
        re = new RegExp(name);
      } catch {
        throw new ApiError(400, `Invalid filter field: name.`);
      }
      list = list.filter((s) => re.test(s.name));
    }
    const status = q.get('status');
    if (status) list = list.filter((s) => this.cloud.status(s) === status.toUpperCase());
    const flavor = q.get('flavor');
    if (flavor) list = list.filter((s) => s.flavor.id === flavor);
    const image = q.get('image');
    if (image) list = list.filter((s) => s.image.id === image);
    const ip = q.get('ip');
    if (ip) {
      const re = new RegExp(ip);
      list = list.filter((s) => re.test(s.host.address));
    }
    const sortDir = q.get('sort_dir') === 'asc' ? 1 : -1;
    const sortKey = q.get('sort_key') ?? 'created_at';
    list.sort((a, b) => {
      const ka = sortKey === 'display_name' ? a.name : sortKey === 'created_at' ? a.created : a.created;
      const kb = sortKey === 'display_name' ? b.name : sortKey === 'created_at' ? b.created : b.created;
      if (ka === kb) return sortDir * (a.id < b.id ? -1 : 1);
      return sortDir * (ka < kb ? -1 : 1);
    });
    const marker = q.get('marker');
    if (marker) {
      const i = list.findIndex((s) => s.id === marker);
      if (i < 0) throw new ApiError(400, `marker [${marker}] not found`);
      list = list.slice(i + 1);
    }
    return list;
  }

  private page<T extends { id: string }>(items: T[], req: ApiRequest, kind: string): { items: T[]; links?: unknown[] } {
    const limitRaw = req.query.get('limit');
    if (limitRaw === null) return { items };
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 0) throw new ApiError(400, `Invalid input for query parameters limit. Value: ${limitRaw}.`);
    if (items.length <= limit) return { items };
    const pageItems = items.slice(0, limit);
    const params = new URLSearchParams(req.query);
    params.set('marker', pageItems.at(-1)!.id);
    return { items: pageItems, links: [{ rel: 'next', href: `${req.base}/compute/v2.1/${kind}?${params.toString()}` }] };
  }

  private parseCreate(req: ApiRequest, v: Version): Parameters<Cloud['createServer']>[0] {
    const s = objectBody(req, 'server');
    const body = req.body as Record<string, any>;
    const hints = (body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {}) as Record<string, unknown>;
    if (typeof s.flavorRef !== 'string' && typeof s.flavorRef !== 'number') throw new ApiError(400, "Invalid input for field/attribute server. Value: {...}. 'flavorRef' is a required property");
    if (s.metadata !== undefined && (typeof s.metadata !== 'object' || Array.isArray(s.metadata) || Object.values(s.metadata).some((x) => typeof x !== 'string'))) {
      throw new ApiError(400, 'Invalid input for field/attribute metadata. Value: ' + JSON.stringify(s.metadata) + '. Metadata values must be strings');
    }
    let networks: Parameters<Cloud['createServer']>[0]['networks'];
    if (s.networks === 'auto' || s.networks === 'none') {
      if (!atLeast(v, 37)) throw new ApiError(400, `Invalid input for field/attribute networks. Value: ${s.networks}. '${s.networks}' is not of type 'array'`);
      networks = s.networks;
    } else if (Array.isArray(s.networks)) {
      networks = s.networks as { uuid?: string; port?: string }[];
    } else if (s.networks === undefined && atLeast(v, 37)) {
      throw new ApiError(400, "Invalid input for field/attribute server. Value: {...}. 'networks' is a required property");
    }
    let userData: string | undefined;
    if (typeof s.user_data === 'string') {
      try {
        userData = Buffer.from(s.user_data, 'base64').toString('utf8');
      } catch {
        throw new ApiError(400, 'Userdata content cannot be decoded.');
      }
    }
    return {
      name: s.name as string,
      flavorRef: String(s.flavorRef),
      imageRef: typeof s.imageRef === 'string' ? s.imageRef : undefined,
      networks,
      securityGroups: Array.isArray(s.security_groups) ? (s.security_groups as { name: string }[]).map((g) => g.name) : undefined,
      metadata: s.metadata as Record<string, string> | undefined,
      userData,
      keyName: typeof s.key_name === 'string' ? s.key_name : undefined,
      group: typeof hints.group === 'string' ? hints.group : undefined,
    };
  }

  private quotaSet(detail: boolean, id: string): Record<string, unknown> {
    const q = this.cloud.quotas;
    const used = this.cloud.usage();
    const row = (limit: number, inUse = 0): unknown => (detail ? { limit, in_use: inUse, reserved: 0 } : limit);
    return {
      id,
      instances: row(q.instances, used.instances),
      cores: row(q.cores, used.cores),
      ram: row(q.ram, used.ram),
      key_pairs: row(q.key_pairs, used.key_pairs),
      server_groups: row(q.server_groups, used.server_groups),
      server_group_members: row(q.server_group_members),
      metadata_items: row(q.metadata_items),
      injected_files: row(5),
      injected_file_content_bytes: row(10240),
      injected_file_path_bytes: row(255),
    };
  }

  /** True when a request changes state (for the openstack_mutations counter). */
  static isMutation(req: ApiRequest): boolean {
    if (req.method === 'GET' || req.method === 'HEAD') return false;
    if (req.method === 'POST' && /\/action$/.test(req.path)) {
      const body = req.body as Record<string, unknown> | undefined;
      return !(body && 'os-getConsoleOutput' in body);
    }
    return true;
  }

  /** Handles a request below /compute. */
  async handle(req: ApiRequest): Promise<ApiResponse> {
    const { method, base } = req;
    let path = req.path;
    if (method === 'GET' && (path === '' || path === '/')) {
      return { status: 200, body: { versions: [{ id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z', links: [{ rel: 'self', href: `${base}/compute/v2/` }] }, computeVersionDoc(base)] } };
    }
    if (!path.startsWith('/v2.1')) throw new ApiError(404, 'The resource could not be found.');
    path = path.slice('/v2.1'.length);
    // Old-style URLs carry the project id after the version.
    const pid = `/${this.cloud.projectId}`;
    if (path === pid || path.startsWith(pid + '/')) path = path.slice(pid.length);
    if (method === 'GET' && (path === '' || path === '/')) return { status: 200, body: { version: computeVersionDoc(base) } };
    const v = requestedMicroversion(req.headers);
    const out = await this.route(req, path, v);
    out.headers = { ...versionHeaders(v), ...out.headers };
    return out;
  }

  private async route(req: ApiRequest, path: string, v: Version): Promise<ApiResponse> {
    const { method, base } = req;
    const c = this.cloud;
    let m: Record<string, string> | undefined;

    if (path === '/servers' || path === '/servers/detail') {
      if (method === 'GET') {
        const { items, links } = this.page(this.filterServers(req), req, path.slice(1));
        const servers = path === '/servers/detail' ? items.map((s) => this.serverView(s, base, v)) : items.map((s) => ({ id: s.id, name: s.name, links: this.link(base, 'servers', s.id) }));
        return { status: 200, body: links ? { servers, servers_links: links } : { servers } };
      }
      if (method === 'POST' && path === '/servers') {
        const rec = await c.createServer(this.parseCreate(req, v));
        const adminPass = randomBytes(9).toString('base64url');
        return {
          status: 202,
          headers: { Location: `${base}/compute/v2.1/${c.projectId}/servers/${rec.id}` },
          body: { server: { id: rec.id, links: this.link(base, 'servers', rec.id), 'OS-DCF:diskConfig': 'MANUAL', security_groups: rec.securityGroups.map((name) => ({ name })), adminPass } },
        };
      }
    }
    if ((m = match('/servers/:id', path))) {
      if (method === 'GET') return { status: 200, body: { server: this.serverView(c.requireServer(m.id!), base, v) } };
      if (method === 'DELETE') {
        c.deleteServer(m.id!);
        return { status: 204 };
      }
    }
    if ((m = match('/servers/:id/action', path)) && method === 'POST') return this.action(req, m.id!);
    if ((m = match('/servers/:id/metadata', path)) && method === 'GET') return { status: 200, body: { metadata: c.requireServer(m.id!).metadata } };
    if ((m = match('/servers/:id/os-security-groups', path)) && method === 'GET') {
      const s = c.requireServer(m.id!);
      return { status: 200, body: { security_groups: c.securityGroups.filter((g) => s.securityGroups.includes(g.name)).map((g) => ({ id: g.id, name: g.name, description: g.description, tenant_id: c.projectId, rules: [] })) } };
    }
    if ((m = match('/servers/:id/os-interface', path)) && method === 'GET') {
      const s = c.requireServer(m.id!);
      return { status: 200, body: { interfaceAttachments: [{ port_id: s.portId, net_id: s.network.id, mac_addr: s.mac, port_state: 'ACTIVE', fixed_ips: [{ subnet_id: s.network.subnetId, ip_address: s.host.address }] }] } };
    }

    if ((path === '/flavors' || path === '/flavors/detail') && method === 'GET') {
      const flavors = c.flavors.map((f) => this.flavorView(f, base, v, path === '/flavors/detail'));
      return { status: 200, body: { flavors } };
    }
    if ((m = match('/flavors/:id', path)) && method === 'GET') {
      const f = c.flavors.find((x) => x.id === m!.id);
      if (!f) throw new ApiError(404, `Flavor ${m.id} could not be found.`);
      return { status: 200, body: { flavor: this.flavorView(f, base, v, true) } };
    }
    if ((m = match('/flavors/:id/os-extra_specs', path)) && method === 'GET') {
      if (!c.flavors.some((x) => x.id === m!.id)) throw new ApiError(404, `Flavor ${m.id} could not be found.`);
      return { status: 200, body: { extra_specs: {} } };
    }

    if (path === '/os-server-groups') {
      if (method === 'GET') return { status: 200, body: { server_groups: [...c.serverGroups.values()].map((g) => this.groupView(g, v)) } };
      if (method === 'POST') {
        const g = objectBody(req, 'server_group');
        const policies = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'];
        let policy: string | undefined;
        if (atLeast(v, 64)) {
          if ('policies' in g) throw new ApiError(400, "Invalid input for field/attribute server_group. Value: {...}. Additional properties are not allowed ('policies' was unexpected)");
          policy = g.policy;
        } else {
          if ('policy' in g) throw new ApiError(400, "Invalid input for field/attribute server_group. Value: {...}. Additional properties are not allowed ('policy' was unexpected)");
          if (!Array.isArray(g.policies) || g.policies.length !== 1) throw new ApiError(400, "Invalid input for field/attribute policies. Value: None. None is not of type 'array'");
          policy = g.policies[0];
        }
        if (typeof g.name !== 'string' || !g.name) throw new ApiError(400, "Invalid input for field/attribute server_group. Value: {...}. 'name' is a required property");
        if (!policy || !policies.includes(policy)) throw new ApiError(400, `Invalid input for field/attribute policy. Value: ${policy}. '${policy}' is not one of ${JSON.stringify(policies)}`);
        const created = c.createServerGroup(g.name, policy as ServerGroup['policy']);
        return { status: 200, body: { server_group: this.groupView(created, v) } };
      }
    }
    if ((m = match('/os-server-groups/:id', path))) {
      const g = c.serverGroups.get(m.id!);
      if (!g) throw new ApiError(404, `Instance group ${m.id} could not be found.`);
      if (method === 'GET') return { status: 200, body: { server_group: this.groupView(g, v) } };
      if (method === 'DELETE') {
        c.deleteServerGroup(g.id);
        return { status: 204 };
      }
    }

    if (path === '/os-keypairs') {
      if (method === 'GET') return { status: 200, body: { keypairs: [...c.keypairs.values()].map((k) => ({ keypair: { name: k.name, public_key: k.publicKey, fingerprint: k.fingerprint, type: 'ssh' } })) } };
      if (method === 'POST') {
        const k = objectBody(req, 'keypair');
        if (typeof k.public_key !== 'string') throw new ApiError(400, 'lab: keypair generation is not supported; import a public_key');
        const kp = c.addKeypair(String(k.name), k.public_key);
        return { status: atLeast(v, 2) ? 200 : 200, body: { keypair: { name: kp.name, public_key: kp.publicKey, fingerprint: kp.fingerprint, user_id: c.userId, type: 'ssh' } } };
      }
    }
    if ((m = match('/os-keypairs/:name', path))) {
      const kp = c.keypairs.get(m.name!);
      if (!kp) throw new ApiError(404, `Keypair ${m.name} not found for user ${c.userId}`);
      if (method === 'GET') return { status: 200, body: { keypair: { name: kp.name, public_key: kp.publicKey, fingerprint: kp.fingerprint, user_id: c.userId, type: 'ssh', id: 1, deleted: false, created_at: isoSeconds(kp.createdAt), updated_at: null, deleted_at: null } } };
      if (method === 'DELETE') {
        c.keypairs.delete(kp.name);
        return { status: 202 };
      }
    }

    if ((m = match('/os-quota-sets/:project', path)) || (m = match('/os-quota-sets/:project/:what', path))) {
      const what = m.what;
      if (what !== undefined && what !== 'detail' && what !== 'defaults') throw new ApiError(404, 'The resource could not be found.');
      if (method === 'GET') return { status: 200, body: { quota_set: this.quotaSet(what === 'detail', m.project!) } };
      if (method === 'PUT' && what === undefined) {
        const body = objectBody(req, 'quota_set');
        for (const [k, val] of Object.entries(body)) {
          if (k === 'force') continue;
          if (!(k in c.quotas)) throw new ApiError(400, `Invalid input for field/attribute quota_set. Value: {...}. Additional properties are not allowed ('${k}' was unexpected)`);
          if (!Number.isInteger(Number(val)) || Number(val) < -1) throw new ApiError(400, `Invalid input for field/attribute ${k}. Value: ${val}.`);
          (c.quotas as unknown as Record<string, number>)[k] = Number(val);
        }
        const { id: _id, ...rest } = this.quotaSet(false, m.project!);
        return { status: 200, body: { quota_set: rest } };
      }
    }

    if (path === '/limits' && method === 'GET') {
      const q = c.quotas;
      const used = c.usage();
      return {
        status: 200,
        body: {
          limits: {
            rate: [],
            absolute: {
              maxTotalInstances: q.instances,
              maxTotalCores: q.cores,
              maxTotalRAMSize: q.ram,
              maxServerMeta: q.metadata_items,
              maxTotalKeypairs: q.key_pairs,
              maxServerGroups: q.server_groups,
              maxServerGroupMembers: q.server_group_members,
              totalInstancesUsed: used.instances,
              totalCoresUsed: used.cores,
              totalRAMUsed: used.ram,
              totalServerGroupsUsed: used.server_groups,
            },
          },
        },
      };
    }
    if (path === '/os-availability-zone' && method === 'GET') {
      return { status: 200, body: { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] } };
    }
    throw new ApiError(404, 'The resource could not be found.');
  }

  private action(req: ApiRequest, id: string): ApiResponse {
    const body = req.body as Record<string, any> | undefined;
    const c = this.cloud;
    if (!body || typeof body !== 'object') throw new ApiError(400, 'Malformed request body');
    if ('reboot' in body) {
      const type = String(body.reboot?.type ?? '').toUpperCase();
      if (type !== 'SOFT' && type !== 'HARD') throw new ApiError(400, `Invalid input for field/attribute type. Value: ${body.reboot?.type}. '${body.reboot?.type}' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']`);
      c.reboot(id, type);
      return { status: 202 };
    }
    if ('os-getConsoleOutput' in body) {
      const raw = body['os-getConsoleOutput']?.length;
      const length = raw === undefined || raw === null ? undefined : Number(raw);
      if (length !== undefined && (!Number.isInteger(length) || length < -1)) throw new ApiError(400, `Invalid input for field/attribute length. Value: ${raw}.`);
      return { status: 200, body: { output: c.console(id, length) } };
    }
    if ('os-stop' in body) {
      c.stop(id);
      return { status: 202 };
    }
    if ('os-start' in body) {
      c.start(id);
      return { status: 202 };
    }
    c.requireServer(id);
    throw new ApiError(400, `lab: server action ${Object.keys(body)[0]} is not supported (reboot, os-getConsoleOutput, os-stop, os-start are)`);
  }
}
