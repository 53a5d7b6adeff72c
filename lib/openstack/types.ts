// The shapes of the OpenStack objects this client reads (the fields it uses; APIs send more).

/** Nova server statuses this client knows; Nova may send others. */
export type ServerStatus =
  | 'ACTIVE'
  | 'BUILD'
  | 'DELETED'
  | 'ERROR'
  | 'HARD_REBOOT'
  | 'REBOOT'
  | 'SHUTOFF'
  | 'STOPPED'
  | 'PAUSED'
  | 'SUSPENDED'
  | 'RESIZE'
  | 'VERIFY_RESIZE'
  | 'MIGRATING'
  | 'REBUILD'
  | 'UNKNOWN'
  | (string & {});

/** One address of a server on a network. */
export interface ServerAddress {
  addr: string;
  version: 4 | 6;
  'OS-EXT-IPS:type'?: 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr'?: string;
}

/** A Nova server (GET /servers/{id}). */
export interface Server {
  id: string;
  name: string;
  status: ServerStatus;
  /** Network name -> addresses. */
  addresses: Record<string, ServerAddress[]>;
  flavor: { id?: string; original_name?: string; [k: string]: unknown };
  /** Nova sends "" for a server booted from a volume. */
  image: { id: string; [k: string]: unknown } | '';
  metadata: Record<string, string>;
  created: string;
  updated: string;
  tenant_id?: string;
  key_name?: string | null;
  security_groups?: { name: string }[];
  /** Present when status is ERROR. */
  fault?: { code: number; message: string; details?: string; created?: string };
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:vm_state'?: string;
  'OS-EXT-STS:power_state'?: number;
  [k: string]: unknown;
}

/** A Nova flavor. */
export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  [k: string]: unknown;
}

/** A Glance image. */
export interface Image {
  id: string;
  name: string;
  status: string;
  visibility?: string;
  [k: string]: unknown;
}

/** A Neutron network. */
export interface Network {
  id: string;
  name: string;
  status?: string;
  subnets?: string[];
  [k: string]: unknown;
}

/** A Neutron security group. */
export interface SecurityGroup {
  id: string;
  name: string;
  description?: string;
  [k: string]: unknown;
}

/** Server group policies. */
export type ServerGroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

/** A Nova server group (policy from microversion 2.64, policies before). */
export interface ServerGroup {
  id: string;
  name: string;
  /** Normalised: the one policy of the group. */
  policy: ServerGroupPolicy | (string & {});
  members: string[];
  [k: string]: unknown;
}

/** One compute quota with its use. */
export interface QuotaUsage {
  limit: number;
  in_use: number;
  reserved: number;
}

/** Compute quotas of the project (GET /os-quota-sets/{project}/detail). */
export interface ComputeQuotas {
  instances: QuotaUsage;
  cores: QuotaUsage;
  ram: QuotaUsage;
  server_groups?: QuotaUsage;
  server_group_members?: QuotaUsage;
  [k: string]: QuotaUsage | string | undefined;
}
