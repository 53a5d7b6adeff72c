// The inventory schema: one cluster per YAML file. Unknown keys and wrong types are rejected; the loader turns
// schema issues into InventoryErrors naming the file and the path inside it.
import { z } from 'zod';

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lowercase letters, digits and "-", at most 63)');

const roleName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'role names are lowercase letters, digits and "_"');

const taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

const serverGroup = z.strictObject({
  name: z.string().min(1),
  policy: z.enum(['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity']),
});

const maxUnavailable = z.union([z.int().positive(), z.string().regex(/^([1-9]\d?|100)%$/, 'a count or a percentage like 25%')]);

/** One role of a cluster (worker, worker_nfs, control, ingress, etcd, ...). */
export const roleSchema = z.strictObject({
  /** Host name part after the cluster prefix: `<cluster prefix>-<role prefix>-<N>`. */
  prefix: dnsLabel,
  /** How hosts of this role join Kubernetes. */
  node: z.enum(['worker', 'control-plane', 'none']).default('worker'),
  flavor: z.string().min(1),
  image: z.string().min(1),
  network: z.string().min(1),
  securityGroups: z.array(z.string().min(1)).default([]),
  serverGroup: serverGroup.optional(),
  labels: z.record(z.string().min(1), z.string()).default({}),
  taints: z.array(taint).default([]),
  /** The fewest hosts this role may be left with by remove-node. */
  min: z.int().nonnegative().default(0),
  /** Per-role limit for rolling operations. */
  maxUnavailable: maxUnavailable.optional(),
  /** Commands (argument arrays) that provision a new VM of this role before it joins. */
  provision: z.array(z.array(z.string()).min(1)).default([]),
  /** Extra Nova server metadata. */
  metadata: z.record(z.string(), z.string()).default({}),
});

/**
 * The HAProxy load balancers in front of the API servers (issue 14). Their hosts are the servers of `role`.
 * `management` says who owns the backend list: `haproxy-config` (cookbooks edit the managed block of `config`
 * over SSH, validate it and reload) or `external` (Puppet or similar owns the file: cookbooks only check it and
 * print exactly what to change; the admin socket is still used for drain/ready).
 */
export const loadBalancersSchema = z.strictObject({
  management: z.enum(['haproxy-config', 'external']),
  /** The inventory role whose hosts run HAProxy. */
  role: roleName.default('loadbalancer'),
  /** The HAProxy backend whose servers are the control nodes (server names are the node names). */
  backend: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'an HAProxy backend name').default('k8s-api'),
  /** The HAProxy configuration file on each LB host. */
  config: z.string().startsWith('/', 'an absolute path').default('/etc/haproxy/haproxy.cfg'),
  /** The HAProxy admin socket on each LB host (`stats socket ... level admin`). */
  socket: z.string().startsWith('/', 'an absolute path').default('/run/haproxy/admin.sock'),
  /**
   * After a control node is set to drain, how long in-flight requests get to finish before the sessions still
   * open on it (long-lived clients: watches, keep-alive connections, which never end by themselves) are shut
   * down, so that their clients reconnect to another API server.
   */
  drainTimeoutSeconds: z.int().min(0).max(3600).default(30),
});

/** A validated `kubernetes.loadBalancers`. */
export type LoadBalancersConfig = z.infer<typeof loadBalancersSchema>;

/** A whole cluster definition. */
export const clusterSchema = z.strictObject({
  name: dnsLabel,
  description: z.string().optional(),
  /** Production clusters ask before destructive steps. */
  production: z.boolean().default(false),
  /** Host name prefix, e.g. tools-k8s. */
  prefix: dnsLabel,
  /** DNS suffix of host FQDNs (used when ssh.addresses is dns). */
  domain: z.string().min(1).optional(),
  openstack: z.strictObject({
    cloud: z.string().min(1),
    project: z.string().min(1),
    region: z.string().min(1).optional(),
    interface: z.enum(['public', 'internal', 'admin']).default('public'),
    /** Explicit clouds.yaml; otherwise OS_CLIENT_CONFIG_FILE and the standard search paths. */
    cloudsFile: z.string().min(1).optional(),
  }),
  kubernetes: z.strictObject({
    apiServer: z.url(),
    /** kubeconfig file; otherwise KUBECONFIG or ~/.kube/config. */
    kubeconfig: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    version: z.string().regex(/^1\.\d+\.\d+$/, 'a Kubernetes version like 1.29.4').optional(),
    /** The apt line of the Kubernetes package repository, one per minor: `{minor}` becomes 1.Y (k8s.upgrade). */
    packageRepository: z.string().includes('{minor}', { message: 'must contain {minor} (each minor has its own repository)' }).optional(),
    /** The port every control node's own kube-apiserver listens on (default: the port of apiServer). */
    apiserverPort: z.int().min(1).max(65535).optional(),
    /** The HAProxy load balancers in front of the API servers (absent: the cluster has none). */
    loadBalancers: loadBalancersSchema.optional(),
  }),
  ssh: z
    .strictObject({
      user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'a POSIX user name').default('root'),
      port: z.int().min(1).max(65535).default(22),
      /** Bastion in ProxyJump form: [user@]host[:port]. */
      jumpHost: z.string().min(1).optional(),
      knownHosts: z.string().min(1).optional(),
      identityFile: z.string().min(1).optional(),
      sudo: z.boolean().default(false),
      /** How a host name becomes an address: DNS (name + domain) or the server's address in OpenStack. */
      addresses: z.enum(['dns', 'openstack']).default('dns'),
    })
    .default({ user: 'root', port: 22, sudo: false, addresses: 'dns' }),
  lock: z
    .strictObject({
      backend: z.enum(['kubernetes', 'file', 'etcd']).default('kubernetes'),
      namespace: dnsLabel.default('kube-system'),
      ttlSeconds: z.int().min(5).max(3600).default(60),
      etcdEndpoints: z.array(z.url()).optional(),
    })
    .default({ backend: 'kubernetes', namespace: 'kube-system', ttlSeconds: 60 }),
  alertmanager: z.strictObject({ url: z.url() }).optional(),
  announce: z.strictObject({ webhook: z.url().optional(), /** A file each START/END line is appended to (a server admin log). */ logFile: z.string().min(1).optional() }).optional(),
  etcd: z
    .strictObject({
      endpoints: z.array(z.url()).min(1),
      /** etcd's client TLS: paths of the CA, client certificate and key ON the member hosts (passed to etcdctl as paths). */
      tls: z
        .strictObject({ cacert: z.string().regex(/^\//, 'an absolute path on the member hosts'), cert: z.string().regex(/^\//, 'an absolute path on the member hosts').optional(), key: z.string().regex(/^\//, 'an absolute path on the member hosts').optional() })
        .refine((t) => !t.cert === !t.key, { message: 'give cert and key together (client-certificate authentication), or neither' })
        .optional(),
    })
    .refine((e) => !e.tls || e.endpoints.every((u) => u.startsWith('https://')), { message: 'with etcd.tls every endpoint is https://', path: ['endpoints'] })
    .optional(),
  /** The components repository of component.* cookbooks: a directory or git URL, and the branch to deploy. */
  components: z.strictObject({ repo: z.string().min(1), branch: z.string().min(1).optional() }).optional(),
  /** Present for clusters backed by the local lab: the lab's generated inventory replaces this entry. */
  lab: z
    .strictObject({
      stateDir: z.string().min(1).optional(),
    })
    .optional(),
  roles: z.record(roleName, roleSchema).refine((r) => Object.keys(r).length > 0, 'at least one role is required'),
});

/** A validated role. */
export type RoleConfig = z.infer<typeof roleSchema>;

/** A validated cluster, as cookbooks see it (frozen, paths resolved). */
export type ClusterConfig = z.infer<typeof clusterSchema> & {
  /** The file it came from. */
  readonly source: string;
};
