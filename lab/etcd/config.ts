// What configures a lab etcd member and who points at it: the host's /etc/default/etcd (ETCD_* variables, as
// Debian's unit reads them), the kube-apiserver static pod manifest of control hosts (--etcd-servers) and the
// external endpoints of kubeadm's ClusterConfiguration. Pure text functions; lab/etcd/cluster.ts applies them.

/** Where Debian's etcd unit reads its environment. */
export const ETCD_DEFAULTS = '/etc/default/etcd';
/** The apiserver's static pod manifest on a control host. */
export const APISERVER_MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
/** The data dir Debian's package uses when /etc/default/etcd sets none. */
export const DEFAULT_DATA_DIR = '/var/lib/etcd/default';

/** Parses KEY=VALUE lines (comments, blanks and optional quotes as systemd's EnvironmentFile allows). */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out.set(m[1]!, v);
  }
  return out;
}

/** Renders ETCD_* variables as /etc/default/etcd. */
export function renderEnvFile(vars: Record<string, string>, header = '# etcd member configuration (written by provisioning)'): string {
  return [header, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ''].join('\n');
}

/** The configuration of one member of the lab's initial cluster. */
export function memberConfig(o: { name: string; address: string; clientPort: number; peerPort: number; initialCluster: string; state: 'new' | 'existing'; token: string }): Record<string, string> {
  const client = `http://${o.address}:${o.clientPort}`;
  const peer = `http://${o.address}:${o.peerPort}`;
  return {
    ETCD_NAME: o.name,
    ETCD_DATA_DIR: `/var/lib/etcd/${o.name}`,
    ETCD_LISTEN_CLIENT_URLS: client,
    ETCD_ADVERTISE_CLIENT_URLS: client,
    ETCD_LISTEN_PEER_URLS: peer,
    ETCD_INITIAL_ADVERTISE_PEER_URLS: peer,
    ETCD_INITIAL_CLUSTER: o.initialCluster,
    ETCD_INITIAL_CLUSTER_STATE: o.state,
    ETCD_INITIAL_CLUSTER_TOKEN: o.token,
  };
}

/** A kube-apiserver static pod manifest (the flags that matter here) listing `etcdServers`; `securePort`: its API port. */
export function renderApiserverManifest(hostname: string, address: string, etcdServers: string[], securePort = 6443): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: kube-apiserver',
    '  namespace: kube-system',
    '  labels: { component: kube-apiserver, tier: control-plane }',
    'spec:',
    '  containers:',
    '  - name: kube-apiserver',
    '    command:',
    '    - kube-apiserver',
    `    - --advertise-address=${address}`,
    '    - --authorization-mode=Node,RBAC',
    `    - --etcd-servers=${etcdServers.join(',')}`,
    `    - --secure-port=${securePort}`,
    `  nodeName: ${hostname}`,
    '',
  ].join('\n');
}

/** The `--etcd-servers` list of a manifest ([] when absent). */
export function manifestEtcdServers(manifest: string): string[] {
  const m = /--etcd-servers=(\S*)/.exec(manifest);
  return m && m[1] ? m[1].split(',').filter(Boolean) : [];
}

/** kubeadm's ClusterConfiguration with its external etcd endpoints replaced (one per line, as kubeadm writes). */
export function withExternalEndpoints(clusterConfiguration: string, endpoints: string[]): string {
  const list = endpoints.length ? '\n' + endpoints.map((e) => `    - ${e}`).join('\n') : ' []';
  return clusterConfiguration.replace(/(etcd:\n  external:\n    endpoints:)(?: \[\]|(?:\n    - .*)*)/, `$1${list}`);
}
