// Minimal Neutron v2.0 for the lab cloud: networks, subnets, security groups and the one port of every
// server (found by device_id), with Neutron's filters on the fields cookbooks use.
import type { Cloud } from './cloud.js';
import { ApiError, type ApiRequest, type ApiResponse, isoSeconds, match } from './http.js';

const CREATED = isoSeconds(Date.parse('2024-06-01T00:00:00Z'));

/** Keeps the items whose fields equal every filter given in the query (Neutron's field=value filters). */
function filtered<T extends Record<string, unknown>>(items: T[], query: URLSearchParams, fields: string[]): T[] {
  return items.filter((item) =>
    fields.every((f) => {
      const wanted = query.getAll(f);
      return wanted.length === 0 || wanted.includes(String(item[f]));
    }),
  );
}

/** Handles a request below /network. */
export function handleNeutron(cloud: Cloud, req: ApiRequest): ApiResponse {
  const { method, path, base } = req;
  if (method !== 'GET') throw new ApiError(405, 'lab: the lab network service is read-only', 'HTTPMethodNotAllowed');
  if (path === '' || path === '/') {
    return { status: 200, body: { versions: [{ status: 'CURRENT', id: 'v2.0', links: [{ href: `${base}/network/v2.0/`, rel: 'self' }] }] } };
  }
  const pid = cloud.projectId;
  const networks = cloud.networks.map((n) => ({
    id: n.id,
    name: n.name,
    status: 'ACTIVE',
    admin_state_up: true,
    shared: false,
    'router:external': false,
    subnets: [n.subnetId],
    mtu: 1450,
    tenant_id: pid,
    project_id: pid,
    port_security_enabled: true,
    availability_zones: ['nova'],
    tags: [],
    created_at: CREATED,
    updated_at: CREATED,
    revision_number: 1,
  }));
  const subnets = cloud.networks.map((n) => ({
    id: n.subnetId,
    name: `${n.name}-subnet`,
    network_id: n.id,
    cidr: n.cidr,
    ip_version: 4,
    enable_dhcp: true,
    gateway_ip: n.cidr.replace(/\.0\/\d+$/, '.254'),
    allocation_pools: [],
    dns_nameservers: [],
    host_routes: [],
    tenant_id: pid,
    project_id: pid,
    tags: [],
    created_at: CREATED,
    updated_at: CREATED,
  }));
  const groups = cloud.securityGroups.map((g) => ({
    id: g.id,
    name: g.name,
    description: g.description,
    tenant_id: pid,
    project_id: pid,
    stateful: true,
    tags: [],
    security_group_rules: [
      { id: `${g.id.slice(0, 24)}000000000001`, security_group_id: g.id, direction: 'egress', ethertype: 'IPv4', protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: null, tenant_id: pid, project_id: pid },
      { id: `${g.id.slice(0, 24)}000000000002`, security_group_id: g.id, direction: 'ingress', ethertype: 'IPv4', protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: g.id, tenant_id: pid, project_id: pid },
    ],
    created_at: CREATED,
    updated_at: CREATED,
    revision_number: 1,
  }));
  const ports = [...cloud.servers.values()].map((s) => ({
    id: s.portId,
    name: '',
    network_id: s.network.id,
    mac_address: s.mac,
    admin_state_up: true,
    status: cloud.status(s) === 'ACTIVE' ? 'ACTIVE' : 'DOWN',
    device_id: s.id,
    device_owner: s.hypervisor ? 'compute:nova' : '',
    fixed_ips: [{ subnet_id: s.network.subnetId, ip_address: s.host.address }],
    security_groups: cloud.securityGroups.filter((g) => s.securityGroups.includes(g.name)).map((g) => g.id),
    'binding:host_id': s.hypervisor ?? '',
    tenant_id: pid,
    project_id: pid,
    tags: [],
    created_at: isoSeconds(s.created),
    updated_at: isoSeconds(s.updated),
  }));
  const collections: Record<string, { items: Record<string, unknown>[]; fields: string[]; singular: string; notFound: string }> = {
    networks: { items: networks, fields: ['id', 'name', 'status', 'shared'], singular: 'network', notFound: 'NetworkNotFound' },
    subnets: { items: subnets, fields: ['id', 'name', 'network_id', 'cidr'], singular: 'subnet', notFound: 'SubnetNotFound' },
    'security-groups': { items: groups, fields: ['id', 'name'], singular: 'security_group', notFound: 'SecurityGroupNotFound' },
    ports: { items: ports, fields: ['id', 'device_id', 'network_id', 'mac_address', 'device_owner', 'status'], singular: 'port', notFound: 'PortNotFound' },
  };
  const quota = match('/v2.0/quotas/:project', path) ?? match('/v2.0/quotas/:project/:what', path);
  if (quota) {
    const q = { network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, rbac_policy: 10 };
    if (quota.what === 'details.json' || quota.what === 'details') {
      const used: Record<string, number> = { network: networks.length, subnet: subnets.length, port: ports.length, security_group: groups.length };
      return { status: 200, body: { quota: Object.fromEntries(Object.entries(q).map(([k, limit]) => [k, { limit, used: used[k] ?? 0, reserved: 0 }])) } };
    }
    return { status: 200, body: { quota: q } };
  }
  const list = match('/v2.0/:collection', path);
  if (list) {
    const c = collections[list.collection!];
    if (!c) throw new ApiError(404, 'The resource could not be found.', 'HTTPNotFound');
    return { status: 200, body: { [list.collection!.replace('-', '_')]: filtered(c.items, req.query, c.fields) } };
  }
  const one = match('/v2.0/:collection/:id', path);
  if (one) {
    const c = collections[one.collection!];
    if (!c) throw new ApiError(404, 'The resource could not be found.', 'HTTPNotFound');
    const item = c.items.find((i) => i.id === one.id);
    const label = c.singular.replace('_', ' ');
    if (!item) throw new ApiError(404, `${label[0]!.toUpperCase()}${label.slice(1)} ${one.id} could not be found.`, c.notFound);
    return { status: 200, body: { [c.singular]: item } };
  }
  if (path === '/v2.0/extensions' || path === '/v2.0/extensions.json') return { status: 200, body: { extensions: [] } };
  throw new ApiError(404, 'The resource could not be found.', 'HTTPNotFound');
}
