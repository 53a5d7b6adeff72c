// The lab cloud's state: flavors, images, networks, security groups, ports, keypairs, server groups, quotas,
// hypervisors and servers. Servers are the lab hosts seen from Nova: creating one builds a new host (fresh
// SSH key, new address) that boots after the build delay; deleting one removes its host; reboot actions
// reboot the host. HTTP lives in nova.ts / glance.ts / neutron.ts; this module is the model and its rules.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { LabHost, World } from '../world.js';
import { type BootRecord, consoleLog } from './console.js';
import { ApiError } from './http.js';

/** A Nova flavor. */
export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}

/** A Glance image. */
export interface Image {
  id: string;
  name: string;
  createdAt: number;
  size: number;
}

/** A Neutron network with its one subnet. */
export interface Network {
  id: string;
  name: string;
  subnetId: string;
  cidr: string;
}

/** A Neutron security group. */
export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
}

/** A Nova server group. */
export interface ServerGroup {
  id: string;
  name: string;
  policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';
  members: string[];
}

/** A Nova keypair. */
export interface Keypair {
  name: string;
  publicKey: string;
  fingerprint: string;
  createdAt: number;
}

/** Compute quotas (-1: unlimited). */
export interface Quotas {
  instances: number;
  cores: number;
  ram: number;
  key_pairs: number;
  server_groups: number;
  server_group_members: number;
  metadata_items: number;
}

/** A server as Nova keeps it. */
export interface ServerRecord {
  id: string;
  name: string;
  /** Stored state; REBOOT / HARD_REBOOT are derived from the host while it reboots. */
  status: 'BUILD' | 'ACTIVE' | 'ERROR' | 'SHUTOFF';
  taskState: string | null;
  created: number;
  updated: number;
  launchedAt: number | null;
  flavor: Flavor;
  image: Image;
  network: Network;
  securityGroups: string[];
  metadata: Record<string, string>;
  userData?: string;
  keyName: string | null;
  groupId?: string;
  hypervisor?: string;
  /** The lab host behind the server (same name). */
  host: Pick<LabHost, 'name' | 'address' | 'hostKey'>;
  mac: string;
  portId: string;
  fault?: { code: number; message: string; created: number };
  rebootType?: 'SOFT' | 'HARD';
  deleting: boolean;
  boots: BootRecord[];
}

/** What the cloud needs from the SSH side to give a new server a host. */
export interface HostProvider {
  port: number;
  allocateAddress(): Promise<string>;
  /** The fields of a fresh VM host (new key, base packages). */
  newHost(options: { name: string; role: string; address: string; port: number; serverId: string }): Omit<LabHost, 'bootId' | 'bootedAt' | 'state'>;
  /** The inventory role a host name belongs to ('' when none). */
  roleOf(name: string): string;
}

/** Initial content of the cloud. */
export interface CloudOptions {
  projectId: string;
  userId: string;
  subnetCidr: string;
  flavors?: string[];
  images?: string[];
  networks?: string[];
  securityGroups?: string[];
  serverGroups?: { name: string; policy: ServerGroup['policy'] }[];
  hypervisors?: number;
  quotas?: Partial<Quotas>;
}

/** A create-server request after parsing. */
export interface CreateServerInput {
  name: string;
  flavorRef: string;
  imageRef?: string;
  networks?: { uuid?: string; port?: string }[] | 'auto' | 'none';
  securityGroups?: string[];
  metadata?: Record<string, string>;
  userData?: string;
  keyName?: string;
  group?: string;
}

const STANDARD_FLAVORS: Omit<Flavor, 'id'>[] = [
  { name: 'lab.small', vcpus: 2, ram: 4096, disk: 20 },
  { name: 'lab.medium', vcpus: 4, ram: 8192, disk: 40 },
  { name: 'lab.large', vcpus: 8, ram: 16384, disk: 80 },
  { name: 'lab.xlarge', vcpus: 16, ram: 32768, disk: 160 },
];

const DEFAULT_QUOTAS: Quotas = {
  instances: 100,
  cores: 400,
  ram: 819200,
  key_pairs: 100,
  server_groups: 20,
  server_group_members: 100,
  metadata_items: 128,
};

function mac(): string {
  return 'fa:16:3e:' + [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The lab cloud. */
export class Cloud {
  readonly flavors: Flavor[] = [];
  readonly images: Image[] = [];
  readonly networks: Network[] = [];
  readonly securityGroups: SecurityGroup[] = [];
  readonly serverGroups = new Map<string, ServerGroup>();
  readonly servers = new Map<string, ServerRecord>();
  readonly keypairs = new Map<string, Keypair>();
  readonly hypervisors: string[];
  quotas: Quotas;
  readonly projectId: string;
  readonly userId: string;
  private readonly onHostUp = (h: LabHost): void => {
    const s = h.serverId ? this.servers.get(h.serverId) : undefined;
    if (!s || s.host.name !== h.name) return;
    s.rebootType = undefined;
    s.taskState = null;
    s.updated = Date.now();
    if (s.boots.at(-1)?.bootId === h.bootId) return;
    s.boots.push({ at: Date.now(), kernel: h.kernel.running, first: s.boots.length === 0, bootId: h.bootId });
  };

  constructor(
    readonly world: World,
    readonly hosts: HostProvider,
    options: CloudOptions,
  ) {
    this.projectId = options.projectId;
    this.userId = options.userId;
    let flavorId = 1;
    for (const f of STANDARD_FLAVORS) this.flavors.push({ id: String(flavorId++), ...f });
    for (const name of options.flavors ?? []) {
      if (!this.flavors.some((f) => f.name === name)) this.flavors.push({ id: String(flavorId++), name, vcpus: 4, ram: 8192, disk: 40 });
    }
    const created = Date.parse('2024-06-01T00:00:00Z');
    for (const name of new Set(['debian-12-bookworm', 'debian-11-bullseye', ...(options.images ?? [])])) {
      this.images.push({ id: randomUUID(), name, createdAt: created, size: 367_001_600 });
    }
    for (const name of new Set(options.networks?.length ? options.networks : ['lab-net'])) {
      this.networks.push({ id: randomUUID(), name, subnetId: randomUUID(), cidr: options.subnetCidr });
    }
    for (const name of new Set(['default', ...(options.securityGroups ?? [])])) {
      this.securityGroups.push({ id: randomUUID(), name, description: name === 'default' ? 'Default security group' : `${name} (lab)` });
    }
    const n = options.hypervisors ?? 24;
    this.hypervisors = Array.from({ length: n }, (_, i) => `cloudvirt${1031 + i}`);
    this.quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
    for (const g of options.serverGroups ?? []) {
      if (![...this.serverGroups.values()].some((x) => x.name === g.name)) this.createServerGroup(g.name, g.policy);
    }
    world.on('host-up', this.onHostUp);
  }

  /** Unsubscribes from the world. */
  close(): void {
    this.world.off('host-up', this.onHostUp);
  }

  /** Servers that count (not yet removed), oldest first. */
  liveServers(): ServerRecord[] {
    return [...this.servers.values()];
  }

  /** Resources in use, as quotas count them. */
  usage(): { instances: number; cores: number; ram: number; server_groups: number; key_pairs: number } {
    let cores = 0;
    let ram = 0;
    for (const s of this.servers.values()) {
      cores += s.flavor.vcpus;
      ram += s.flavor.ram;
    }
    return { instances: this.servers.size, cores, ram, server_groups: this.serverGroups.size, key_pairs: this.keypairs.size };
  }

  /** The server's status as Nova reports it now. */
  status(s: ServerRecord): string {
    if (s.status !== 'ACTIVE') return s.status;
    const host = this.world.hosts.get(s.host.name);
    if (s.rebootType && host?.state === 'rebooting') return s.rebootType === 'HARD' ? 'HARD_REBOOT' : 'REBOOT';
    return 'ACTIVE';
  }

  /** The flavor with this id, name or URL. */
  findFlavor(ref: string): Flavor | undefined {
    const id = ref.includes('/') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
    return this.flavors.find((f) => f.id === id) ?? this.flavors.find((f) => f.name === ref);
  }

  /** The image with this id (or URL). */
  findImage(ref: string): Image | undefined {
    const id = ref.includes('/') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
    return this.images.find((i) => i.id === id);
  }

  /** Publishes an image (as an admin uploading a new release would); an existing name is returned as it is. */
  addImage(name: string): Image {
    const existing = this.images.find((i) => i.name === name);
    if (existing) return existing;
    const img: Image = { id: randomUUID(), name, createdAt: Date.now(), size: 367_001_600 };
    this.images.push(img);
    return img;
  }

  /** A server group by id. */
  createServerGroup(name: string, policy: ServerGroup['policy']): ServerGroup {
    if (this.serverGroups.size >= this.quotas.server_groups && this.quotas.server_groups >= 0) {
      throw new ApiError(403, 'Quota exceeded, too many server groups.');
    }
    const g: ServerGroup = { id: randomUUID(), name, policy, members: [] };
    this.serverGroups.set(g.id, g);
    return g;
  }

  /** Deletes a server group (members keep running, as in Nova). */
  deleteServerGroup(id: string): void {
    if (!this.serverGroups.delete(id)) throw new ApiError(404, `Instance group ${id} could not be found.`);
  }

  private serverGroupByName(name: string): ServerGroup | undefined {
    return [...this.serverGroups.values()].find((g) => g.name === name);
  }

  /** Places a server on a hypervisor under its group's policy; undefined when no valid host is left. */
  private place(group: ServerGroup | undefined): string | undefined {
    const load = new Map<string, number>(this.hypervisors.map((h) => [h, 0]));
    for (const s of this.servers.values()) if (s.hypervisor) load.set(s.hypervisor, (load.get(s.hypervisor) ?? 0) + 1);
    const memberHosts = new Map<string, number>();
    for (const id of group?.members ?? []) {
      const hv = this.servers.get(id)?.hypervisor;
      if (hv) memberHosts.set(hv, (memberHosts.get(hv) ?? 0) + 1);
    }
    // Ties are broken by the lab's seeded random source, so a seed gives the same placement.
    const pick = (candidates: string[]): string | undefined => {
      if (candidates.length === 0) return undefined;
      const min = Math.min(...candidates.map((c) => load.get(c)!));
      const best = candidates.filter((c) => load.get(c) === min);
      return best[Math.floor(this.world.random() * best.length)];
    };
    switch (group?.policy) {
      case 'anti-affinity':
        return pick(this.hypervisors.filter((h) => !memberHosts.has(h)));
      case 'affinity':
        return memberHosts.size ? [...memberHosts.keys()][0] : pick(this.hypervisors);
      case 'soft-anti-affinity': {
        const fewest = Math.min(...this.hypervisors.map((h) => memberHosts.get(h) ?? 0));
        return pick(this.hypervisors.filter((h) => (memberHosts.get(h) ?? 0) === fewest));
      }
      case 'soft-affinity': {
        const most = Math.max(0, ...memberHosts.values());
        return pick(this.hypervisors.filter((h) => (memberHosts.get(h) ?? 0) === most));
      }
      default:
        return pick(this.hypervisors);
    }
  }

  private newRecord(input: {
    name: string;
    flavor: Flavor;
    image: Image;
    network: Network;
    securityGroups: string[];
    metadata: Record<string, string>;
    userData?: string;
    keyName?: string | null;
    group?: ServerGroup;
    address: string;
    hostKey: LabHost['hostKey'];
  }): ServerRecord {
    const now = Date.now();
    return {
      id: randomUUID(),
      name: input.name,
      status: 'BUILD',
      taskState: 'scheduling',
      created: now,
      updated: now,
      launchedAt: null,
      flavor: input.flavor,
      image: input.image,
      network: input.network,
      securityGroups: input.securityGroups,
      metadata: input.metadata,
      userData: input.userData,
      keyName: input.keyName ?? null,
      groupId: input.group?.id,
      host: { name: input.name, address: input.address, hostKey: input.hostKey },
      mac: mac(),
      portId: randomUUID(),
      deleting: false,
      boots: [],
    };
  }

  /**
   * Registers a server for a host that exists at lab start (ACTIVE, already booted once). The caller adds
   * the host to the world with `serverId` set to the returned record's id.
   */
  addInitialServer(input: {
    name: string;
    flavor: string;
    image: string;
    network: string;
    securityGroups: string[];
    serverGroup?: string;
    metadata?: Record<string, string>;
    address: string;
    hostKey: LabHost['hostKey'];
  }): ServerRecord {
    const flavor = this.findFlavor(input.flavor) ?? this.flavors[1]!;
    const image = this.images.find((i) => i.name === input.image) ?? this.images[0]!;
    const network = this.networks.find((n) => n.name === input.network) ?? this.networks[0]!;
    const group = input.serverGroup ? this.serverGroupByName(input.serverGroup) : undefined;
    const rec = this.newRecord({ ...input, flavor, image, network, group, metadata: input.metadata ?? {} });
    // Initial servers are placed like new ones, but never refused: the lab's starting cluster must exist.
    rec.hypervisor = this.place(group) ?? this.place(undefined);
    rec.status = 'ACTIVE';
    rec.taskState = null;
    rec.launchedAt = rec.created;
    // Its first boot is logged when the host is added (World.addHost announces it as up).
    this.servers.set(rec.id, rec);
    group?.members.push(rec.id);
    return rec;
  }

  /** Creates a server: validation and quotas as Nova; the host builds, then boots (or the build fails). */
  async createServer(input: CreateServerInput): Promise<ServerRecord> {
    if (!input.name || typeof input.name !== 'string') throw new ApiError(400, "Invalid input for field/attribute name. Value: None. None is not of type 'string'");
    const flavor = this.findFlavor(input.flavorRef);
    if (!flavor) throw new ApiError(400, 'Invalid flavorRef provided.');
    if (!input.imageRef) throw new ApiError(400, 'Missing imageRef attribute');
    const image = this.findImage(input.imageRef);
    if (!image) throw new ApiError(400, 'Can not find requested image');
    let network: Network | undefined;
    if (Array.isArray(input.networks) && input.networks.length > 0) {
      const first = input.networks[0]!;
      if (first.port) throw new ApiError(400, 'lab: booting from a pre-created port is not supported; pass networks [{uuid}]');
      network = this.networks.find((n) => n.id === first.uuid);
      if (!network) throw new ApiError(400, `Network ${first.uuid} could not be found.`);
    } else if (input.networks === 'none') {
      throw new ApiError(400, 'lab: servers without a network are not supported');
    } else {
      if (this.networks.length > 1) throw new ApiError(409, 'Multiple possible networks found, use a Network ID to be more specific.');
      network = this.networks[0];
    }
    // Clients may name a group or give its id; Nova shows names.
    const sgs = (input.securityGroups?.length ? input.securityGroups : ['default']).map((sg) => {
      const g = this.securityGroups.find((x) => x.name === sg || x.id === sg);
      if (!g) throw new ApiError(400, `Unable to find security_group with name or id '${sg}'`);
      return g.name;
    });
    if (input.keyName && !this.keypairs.has(input.keyName)) throw new ApiError(400, 'Invalid key_name provided.');
    let group: ServerGroup | undefined;
    if (input.group) {
      group = this.serverGroups.get(input.group);
      if (!group) throw new ApiError(400, `Invalid input for field/attribute group. Value: ${input.group}. Instance group ${input.group} could not be found.`);
    }
    const metadata = input.metadata ?? {};
    if (Object.keys(metadata).length > this.quotas.metadata_items && this.quotas.metadata_items >= 0) {
      throw new ApiError(403, `Quota exceeded for metadata_items: Requested ${Object.keys(metadata).length}, but already used 0 of ${this.quotas.metadata_items} metadata_items`);
    }
    this.checkQuota(flavor, group);
    const address = await this.hosts.allocateAddress();
    const spec = this.hosts.newHost({ name: input.name, role: this.hosts.roleOf(input.name), address, port: this.hosts.port, serverId: '' });
    const rec = this.newRecord({ ...input, flavor, image, network: network!, securityGroups: sgs, metadata, group, address, hostKey: spec.hostKey, keyName: input.keyName });
    spec.serverId = rec.id;
    this.servers.set(rec.id, rec);
    group?.members.push(rec.id);
    const hypervisor = this.place(group);
    if (!hypervisor) {
      // Nova accepts the request, then the scheduler finds no valid host and the server goes to ERROR.
      this.fail(rec, 500, 'No valid host was found. There are not enough hosts available.');
      return rec;
    }
    rec.hypervisor = hypervisor;
    if (this.world.hosts.has(input.name)) {
      this.fail(rec, 500, `Build of instance ${rec.id} aborted: lab: a host named ${input.name} exists already (the lab needs unique server names)`);
      return rec;
    }
    this.world.addHost({ ...spec, state: 'building' });
    rec.taskState = 'spawning';
    this.world.after(this.world.timings.vmBuildMs, () => this.finishBuild(rec));
    return rec;
  }

  private checkQuota(flavor: Flavor, group: ServerGroup | undefined): void {
    const used = this.usage();
    const q = this.quotas;
    const over = (what: 'instances' | 'cores' | 'ram', requested: number, inUse: number): void => {
      const limit = q[what];
      if (limit >= 0 && inUse + requested > limit) {
        throw new ApiError(403, `Quota exceeded for ${what}: Requested ${requested}, but already used ${inUse} of ${limit} ${what}`);
      }
    };
    over('instances', 1, used.instances);
    over('cores', flavor.vcpus, used.cores);
    over('ram', flavor.ram, used.ram);
    if (group && q.server_group_members >= 0 && group.members.length + 1 > q.server_group_members) {
      throw new ApiError(403, 'Quota exceeded, too many servers in group');
    }
  }

  private fail(rec: ServerRecord, code: number, message: string): void {
    rec.status = 'ERROR';
    rec.taskState = null;
    rec.updated = Date.now();
    rec.fault = { code, message, created: Date.now() };
  }

  private finishBuild(rec: ServerRecord): void {
    if (rec.deleting || !this.servers.has(rec.id)) return;
    const errors = this.world.faults.vmBuildErrors ?? [];
    if (errors.includes('*') || errors.includes(rec.name)) {
      this.fail(rec, 500, `Build of instance ${rec.id} aborted: Failed to allocate the network(s), not rescheduling.`);
      this.world.removeHost(rec.name);
      return;
    }
    rec.status = 'ACTIVE';
    rec.taskState = null;
    rec.launchedAt = Date.now();
    rec.updated = Date.now();
    if (this.world.hosts.get(rec.name)?.serverId === rec.id) this.world.bootHost(rec.name);
  }

  /** The server with this id, or a 404 in Nova's words. */
  requireServer(id: string): ServerRecord {
    const s = this.servers.get(id);
    if (!s) throw new ApiError(404, `Instance ${id} could not be found.`);
    return s;
  }

  /** Deletes a server: its host goes at once, the record after vmDeleteMs (task_state deleting meanwhile). */
  deleteServer(id: string): void {
    const s = this.requireServer(id);
    if (s.deleting) return;
    s.deleting = true;
    s.taskState = 'deleting';
    s.updated = Date.now();
    const host = this.world.hosts.get(s.name);
    if (host && host.serverId === s.id) this.world.removeHost(s.name);
    this.world.after(this.world.timings.vmDeleteMs, () => {
      this.servers.delete(s.id);
      for (const g of this.serverGroups.values()) g.members = g.members.filter((m) => m !== s.id);
    });
  }

  private liveHost(s: ServerRecord): LabHost | undefined {
    const host = this.world.hosts.get(s.name);
    return host && host.serverId === s.id ? host : undefined;
  }

  /** Soft or hard reboot through the API. */
  reboot(id: string, type: 'SOFT' | 'HARD'): void {
    const s = this.requireServer(id);
    const host = this.liveHost(s);
    const vmState = s.status === 'BUILD' ? 'building' : s.status === 'ERROR' ? 'error' : s.status === 'SHUTOFF' ? 'stopped' : 'active';
    if (s.deleting) throw new ApiError(409, `Cannot 'reboot' instance ${id} while it is in task_state deleting`);
    if (s.status === 'BUILD' || (type === 'SOFT' && s.status !== 'ACTIVE') || !host) {
      throw new ApiError(409, `Cannot 'reboot' instance ${id} while it is in vm_state ${vmState}`);
    }
    if (type === 'SOFT' && host.state === 'rebooting') throw new ApiError(409, `Cannot 'reboot' instance ${id} while it is in task_state reboot_started`);
    s.updated = Date.now();
    if (s.status === 'SHUTOFF' || s.status === 'ERROR') {
      s.status = 'ACTIVE';
      s.fault = undefined;
      if (host.state === 'down') {
        this.world.bootHost(host.name);
        return;
      }
    }
    s.rebootType = type;
    this.world.rebootHost(host.name);
  }

  /** os-stop: the guest powers off (connections drop, nothing listens). */
  stop(id: string): void {
    const s = this.requireServer(id);
    const host = this.liveHost(s);
    if (s.status !== 'ACTIVE' || !host) throw new ApiError(409, `Cannot 'stop' instance ${id} while it is in vm_state ${s.status.toLowerCase()}`);
    s.status = 'SHUTOFF';
    s.updated = Date.now();
    if (host.state !== 'down') {
      host.state = 'down';
      this.world.emit('host-down', host);
    }
  }

  /** os-start: a stopped server boots. */
  start(id: string): void {
    const s = this.requireServer(id);
    const host = this.liveHost(s);
    if (s.status !== 'SHUTOFF' || !host) throw new ApiError(409, `Cannot 'start' instance ${id} while it is in vm_state ${s.status === 'ACTIVE' ? 'active' : s.status.toLowerCase()}`);
    s.status = 'ACTIVE';
    s.updated = Date.now();
    this.world.bootHost(host.name);
  }

  /** Console output of a server (empty before its first boot). */
  console(id: string, length?: number): string {
    const s = this.requireServer(id);
    return consoleLog(s.host, s.mac, s.boots, length);
  }

  /** Nova's hostId: an opaque hash of project and hypervisor. */
  hostId(s: ServerRecord): string {
    return s.hypervisor ? createHash('sha224').update(this.projectId + s.hypervisor).digest('hex') : '';
  }

  /** Adds or imports a keypair. */
  addKeypair(name: string, publicKey: string): Keypair {
    if (this.keypairs.has(name)) throw new ApiError(409, `Key pair '${name}' already exists.`);
    const blob = publicKey.trim().split(/\s+/)[1];
    if (!blob) throw new ApiError(400, 'Keypair data is invalid: failed to generate fingerprint');
    const md5 = createHash('md5').update(Buffer.from(blob, 'base64')).digest('hex').match(/../g)!.join(':');
    const kp: Keypair = { name, publicKey: publicKey.trim(), fingerprint: md5, createdAt: Date.now() };
    this.keypairs.set(name, kp);
    return kp;
  }
}
