// The kubeadm side of the lab (world.kubeadm): bootstrap tokens as kube-system Secrets, the join command,
// uploaded control-plane certificates with their two-hour key, join/reset of hosts, upgrades and
// certificate expiry, with kubeadm's own wording for what goes wrong.
import { randomBytes } from 'node:crypto';
import type { KubeadmBackend, LabHost, World } from '../world.js';
import type { Kubelets } from './controllers/kubelet.js';
import { KUBEADM_CERTS } from './certs.js';
import type { NodeEndpoints } from './endpoints.js';
import type { KubeadmPki } from './kubeadm-certs.js';
import type { ObjectApi } from './rest.js';
import { k8sTime } from './types.js';

const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const CERT_KEY_TTL_MS = 2 * 3600_000;

function randomToken(n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[bytes[i]! % alphabet.length];
  return s;
}

function packageVersion(host: LabHost, pkg: string): string | undefined {
  const v = host.packages.get(pkg);
  return v ? v.replace(/^v/, '').replace(/-.*$/, '') : undefined;
}

function cmpVersion(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The lab's KubeadmBackend. */
export class LabKubeadm implements KubeadmBackend {
  private certKey: { key: string; expires: number } | undefined;

  constructor(
    private readonly world: World,
    private readonly api: ObjectApi,
    private readonly kubelets: Kubelets,
    private readonly address: string,
    private readonly caCertHash: string,
    private readonly pki: KubeadmPki,
    private readonly endpoints?: NodeEndpoints,
  ) {}

  private get secrets() {
    return this.api.res('', 'secrets');
  }

  tokenCreate(ttlSeconds: number, description?: string): { token: string; joinCommand: string } {
    const id = randomToken(6);
    const secret = randomToken(16);
    const data: Record<string, string> = {
      'token-id': id,
      'token-secret': secret,
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    };
    if (description) data.description = description;
    if (ttlSeconds > 0) data.expiration = k8sTime(Date.now() + this.world.scaled(ttlSeconds * 1000));
    this.api.create(
      this.secrets,
      'kube-system',
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
        type: 'bootstrap.kubernetes.io/token',
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      },
      { internal: true },
    );
    const token = `${id}.${secret}`;
    return { token, joinCommand: `kubeadm join ${this.address} --token ${token} --discovery-token-ca-cert-hash ${this.caCertHash}` };
  }

  private readToken(id: string): { secret: string; expires?: number } | undefined {
    const s = this.api.store.get(this.secrets, 'kube-system', `bootstrap-token-${id}`);
    if (!s || s.type !== 'bootstrap.kubernetes.io/token') return undefined;
    const get = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : undefined);
    const exp = get('expiration');
    return { secret: get('token-secret') ?? '', expires: exp ? Date.parse(exp) : undefined };
  }

  tokenDelete(tokenOrId: string): boolean {
    const id = tokenOrId.split('.')[0]!;
    if (!/^[a-z0-9]{6}$/.test(id)) return false;
    try {
      this.api.delete(this.secrets, 'kube-system', `bootstrap-token-${id}`, {}, { internal: true });
      return true;
    } catch {
      return false;
    }
  }

  tokenList(): string {
    const rows: string[][] = [['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS']];
    for (const s of this.api.store.scan(this.secrets, 'kube-system')) {
      if (s.type !== 'bootstrap.kubernetes.io/token') continue;
      const get = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : '');
      const exp = get('expiration');
      const left = exp ? Date.parse(exp) - Date.now() : undefined;
      if (left !== undefined && left <= 0) continue;
      const ttl = left === undefined ? '<forever>' : `${Math.max(1, Math.round((left * this.world.speed) / 3600_000))}h`;
      rows.push([`${get('token-id')}.${get('token-secret')}`, ttl, exp || '<never>', 'authentication,signing', get('description') || '<none>', get('auth-extra-groups')]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
  }

  uploadCerts(): string {
    const key = randomBytes(32).toString('hex');
    this.certKey = { key, expires: Date.now() + this.world.scaled(CERT_KEY_TTL_MS) };
    const existing = this.api.store.get(this.secrets, 'kube-system', 'kubeadm-certs');
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'kubeadm-certs', namespace: 'kube-system' },
      type: 'Opaque',
      data: Object.fromEntries(['ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'front-proxy-ca.crt', 'front-proxy-ca.key'].map((k) => [k, randomBytes(24).toString('base64')])),
    };
    if (existing) this.api.update(this.secrets, 'kube-system', 'kubeadm-certs', body, { internal: true });
    else this.api.create(this.secrets, 'kube-system', body, { internal: true });
    return key;
  }

  join(host: LabHost, args: { apiServer: string; token: string; caCertHash: string; controlPlane: boolean; certificateKey?: string }): void {
    const preflight: string[] = [];
    if (host.kubelet.joined) {
      preflight.push('\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists', '\t[ERROR Port-10250]: Port 10250 is in use');
    }
    if (!host.packages.has('kubelet')) preflight.push('\t[ERROR FileExisting-kubelet]: kubelet not found in system path');
    if (!host.packages.has('kubeadm')) preflight.push('\t[ERROR FileExisting-kubeadm]: kubeadm not found in system path');
    if (!host.services.get('containerd')) {
      preflight.push('\t[ERROR CRI]: container runtime is not running: output: time="' + new Date().toISOString() + '" level=fatal msg="validate service connection: validate CRI v1 runtime API for endpoint \\"unix:///var/run/containerd/containerd.sock\\": rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: dial unix /var/run/containerd/containerd.sock: connect: no such file or directory\\""\n, error: exit status 1');
    }
    if (preflight.length) {
      throw new Error(`error execution phase preflight: [preflight] Some fatal errors occurred:\n${preflight.join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`\nTo see the stack trace of this error execute with --v=5 or higher`);
    }
    const addr = args.apiServer.replace(/^https?:\/\//, '');
    if (addr !== this.address && addr !== this.address.replace('127.0.0.1', 'localhost')) {
      throw new Error(`error execution phase preflight: couldn't validate the identity of the API Server: Get "https://${addr}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp ${addr}: connect: connection refused\nTo see the stack trace of this error execute with --v=5 or higher`);
    }
    const m = TOKEN_RE.exec(args.token);
    if (!m) {
      throw new Error(`[discovery.bootstrapToken.token: Invalid value: "${args.token}": the bootstrap token "${args.token}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$", discovery.tlsBootstrapToken: Invalid value: "${args.token}": the bootstrap token "${args.token}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"]`);
    }
    const tok = this.readToken(m[1]!);
    if (!tok || (tok.expires !== undefined && tok.expires <= Date.now())) {
      throw new Error(`error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${m[1]}"\nTo see the stack trace of this error execute with --v=5 or higher`);
    }
    if (tok.secret !== m[2]) {
      throw new Error(`error execution phase preflight: couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server\nTo see the stack trace of this error execute with --v=5 or higher`);
    }
    if (args.caCertHash !== this.caCertHash) {
      throw new Error(`error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${this.caCertHash}" are pinned\nTo see the stack trace of this error execute with --v=5 or higher`);
    }
    if (args.controlPlane) {
      if (!args.certificateKey) {
        throw new Error('error execution phase control-plane-prepare/certs: error creating PKI assets: failed to load certificate authority: couldn\'t load the certificate file /etc/kubernetes/pki/ca.crt: open /etc/kubernetes/pki/ca.crt: no such file or directory\nTo see the stack trace of this error execute with --v=5 or higher');
      }
      if (!this.certKey || this.certKey.expires <= Date.now()) {
        throw new Error('error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one\nTo see the stack trace of this error execute with --v=5 or higher');
      }
      if (!/^[0-9a-f]{64}$/.test(args.certificateKey)) {
        throw new Error(`error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certificate key: encoding/hex: invalid byte: U+${(args.certificateKey.split('').find((c) => !/[0-9a-f]/.test(c)) ?? 'X').charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}\nTo see the stack trace of this error execute with --v=5 or higher`);
      }
      if (args.certificateKey !== this.certKey.key) {
        throw new Error('error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed\nTo see the stack trace of this error execute with --v=5 or higher');
      }
    }
    if (this.world.faults.joinFailures?.includes(host.name)) {
      throw new Error('error execution phase kubelet-start: error uploading crisocket: Unauthorized\nTo see the stack trace of this error execute with --v=5 or higher');
    }
    // The certificates: downloaded CAs and the node's own, as kubeadm's control-plane-prepare phase writes them.
    this.pki.writePki(host, args.controlPlane);
    host.kubelet = { joined: true, controlPlane: args.controlPlane, version: packageVersion(host, 'kubelet') ?? this.world.kubernetesVersion };
    host.services.set('kubelet', true);
    host.enabledServices?.add('kubelet');
    this.world.emit('kubelet-changed', host);
  }

  reset(host: LabHost): void {
    host.kubelet = { joined: false, controlPlane: false };
    host.services.set('kubelet', false);
    this.world.emit('kubelet-changed', host);
  }

  /** Control-plane Nodes that are not Ready (kubeadm's ControlPlaneNodesReady check). */
  private notReadyControlPlanes(): string[] {
    const out: string[] = [];
    for (const n of this.api.store.scan(this.api.res('', 'nodes'))) {
      if (!('node-role.kubernetes.io/control-plane' in (n.metadata.labels ?? {}))) continue;
      const ready = (n.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
      if (ready?.status !== 'True') out.push(n.metadata.name);
    }
    return out.sort();
  }

  /** kubeadm's upgrade health checks (health.go): CreateJob, ControlPlaneNodesReady; `ignore` as --ignore-preflight-errors. */
  private healthChecks(ignore: Set<string>): void {
    const errors: string[] = [];
    if (this.world.faults.upgradeHealthJobTimeout && !ignore.has('createjob') && !ignore.has('all')) {
      const id = randomToken(5);
      errors.push(`\t[ERROR CreateJob]: Job "upgrade-health-check-${id}" in the namespace "kube-system" did not complete in 15s: client rate limiter Wait returned an error: context deadline exceeded`);
    }
    const notReady = this.notReadyControlPlanes();
    if (notReady.length && !ignore.has('controlplanenodesready') && !ignore.has('all')) {
      errors.push(`\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [${notReady.join(' ')}]`);
    }
    if (errors.length) {
      throw new Error(`[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n${errors.join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`\nTo see the stack trace of this error execute with --v=5 or higher`);
    }
  }

  /** kubeadm's version policy for `apply` (EnforceVersionPolicies): one minor at a time, no downgrade, kubelet skew. */
  private versionPolicy(target: string, current: string, kubeadmVersion: string): void {
    const fatal = (why: string) => new Error(`[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n\t- ${why}\n\nCan be bypassed if you pass the --force flag`);
    if (cmpVersion(target, kubeadmVersion) > 0) throw fatal(`Specified version to upgrade to "v${target}" is higher than the kubeadm version "v${kubeadmVersion}". Upgrade kubeadm first using the tool you used to install kubeadm`);
    const [cmaj, cmin] = current.split('.').map(Number) as [number, number];
    const [tmaj, tmin] = target.split('.').map(Number) as [number, number];
    if (tmaj !== cmaj || tmin > cmin + 1) throw fatal(`Specified version to upgrade to "v${target}" is too high; kubeadm can upgrade only 1 minor version at a time`);
    if (cmpVersion(target, current) < 0) throw fatal(`Specified version to upgrade to "v${target}" is lower than the cluster version "v${current}". Downgrades are not supported yet`);
    // Control-plane instances left behind by the previous upgrade (upgrade node never ran there).
    const behindCp = [...this.world.hosts.values()]
      .filter((h) => h.kubelet.joined && h.kubelet.controlPlane)
      .map((h) => this.kubelets.controlPlaneVersions.get(h.name) ?? current)
      .filter((v) => Number(v.split('.')[1]) < tmin - 1);
    if (behindCp.length) throw fatal(`There are control plane components at versions [${[...new Set(behindCp)].map((v) => 'v' + v).join(' ')}] that are more than one minor older than "v${target}"; run "kubeadm upgrade node" on every control plane first`);
    const tooOld = new Set<string>();
    for (const n of this.api.store.scan(this.api.res('', 'nodes'))) {
      const v = String(n.status?.nodeInfo?.kubeletVersion ?? '').replace(/^v/, '');
      if (v && Number(v.split('.')[1]) < tmin - 3) tooOld.add('v' + v);
    }
    if (tooOld.size) throw fatal(`There are kubelets in this cluster that are too old that have these versions [${[...tooOld].sort().join(' ')}]`);
  }

  /** The apiserver static pod of `host` never comes back (fault): kubeadm waits, rolls back and fails. */
  private staticPodStuck(host: LabHost, phase: 'apply' | 'node'): void {
    if (!this.world.faults.upgradeStaticPodStuck?.includes(host.name)) return;
    throw new Error(
      `[upgrade/${phase}] FATAL: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: ` +
        `failed to obtain static Pod hash for component kube-apiserver on Node ${host.name}: static Pod hash for component kube-apiserver on Node ${host.name} did not change after 5m0s: timed out waiting for the condition\nTo see the stack trace of this error execute with --v=5 or higher`,
    );
  }

  /** Writes the cluster version into kubeadm-config's ClusterConfiguration, as apply's upload-config phase does. */
  private uploadConfig(target: string): void {
    const res = this.api.res('', 'configmaps');
    const cm = this.api.store.get(res, 'kube-system', 'kubeadm-config');
    if (!cm) return;
    const text = String(cm.data?.ClusterConfiguration ?? '').replace(/^kubernetesVersion: .*$/m, `kubernetesVersion: v${target}`);
    this.api.update(res, 'kube-system', 'kubeadm-config', { ...cm, data: { ...cm.data, ClusterConfiguration: text } }, { internal: true });
  }

  /** CoreDNS and kube-proxy at the cluster version, applied only once every apiserver runs it (kubeadm >= 1.28). */
  private applyAddons(target: string): string[] {
    const cps = [...this.world.hosts.values()].filter((h) => h.kubelet.joined && h.kubelet.controlPlane);
    if (cps.some((h) => (this.kubelets.controlPlaneVersions.get(h.name) ?? '') !== target)) {
      return ['[upgrade/addons] skip upgrade addons because control plane instances have not been upgraded to the target version'];
    }
    const deps = this.api.res('apps', 'deployments');
    const coredns = this.api.store.get(deps, 'kube-system', 'coredns');
    const image = `registry.k8s.io/coredns/coredns:${corednsVersion(target)}`;
    if (coredns && coredns.spec?.template?.spec?.containers?.[0]?.image !== image) {
      const next = structuredClone(coredns);
      next.spec.template.spec.containers[0].image = image;
      this.api.update(deps, 'kube-system', 'coredns', next, { internal: true });
    }
    const dss = this.api.res('apps', 'daemonsets');
    const proxyImage = `registry.k8s.io/kube-proxy:v${target}`;
    const proxy = this.api.store.get(dss, 'kube-system', 'kube-proxy');
    const body = kubeProxyDaemonSet(proxyImage);
    if (!proxy) this.api.create(dss, 'kube-system', body, { internal: true });
    else if (proxy.spec?.template?.spec?.containers?.[0]?.image !== proxyImage) {
      const next = structuredClone(proxy);
      next.spec.template.spec.containers[0].image = proxyImage;
      this.api.update(dss, 'kube-system', 'kube-proxy', next, { internal: true });
    }
    return ['[addons] Applied essential addon: CoreDNS', '[addons] Applied essential addon: kube-proxy'];
  }

  upgrade(host: LabHost, action: 'plan' | 'apply' | 'node', version?: string, options: { ignorePreflightErrors?: string[] } = {}): string {
    const current = this.world.kubernetesVersion;
    const kubeadmVersion = packageVersion(host, 'kubeadm') ?? current;
    const cp = host.kubelet.controlPlane;
    const ignore = new Set((options.ignorePreflightErrors ?? []).map((s) => s.trim().toLowerCase()));
    if (action === 'plan') {
      if (!cp) throw new Error('[upgrade/config] FATAL: failed to get config map: configmaps "kubeadm-config" is forbidden: User "system:node" cannot get resource "configmaps" in API group "" in the namespace "kube-system"');
      this.healthChecks(ignore);
      const target = cmpVersion(kubeadmVersion, current) > 0 ? kubeadmVersion : current;
      const nodes = [...this.api.store.scan(this.api.res('', 'nodes'))];
      const lines = [
        '[preflight] Running pre-flight checks.',
        '[upgrade/config] Reading configuration from the cluster...',
        "[upgrade/config] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'",
        '[upgrade] Running cluster health checks',
        `[upgrade] Fetching available versions to upgrade to`,
        `[upgrade/versions] Cluster version: v${current}`,
        `[upgrade/versions] kubeadm version: v${kubeadmVersion}`,
        `[upgrade/versions] Target version: v${target}`,
        '',
      ];
      if (cmpVersion(target, current) <= 0) {
        lines.push('Awesome, you\'re up-to-date! Enjoy!');
        return lines.join('\n') + '\n';
      }
      lines.push('Components that must be upgraded manually after you have upgraded the control plane with \'kubeadm upgrade apply\':', 'COMPONENT   NODE   CURRENT   TARGET');
      for (const n of nodes) lines.push(`kubelet     ${n.metadata.name}   ${n.status?.nodeInfo?.kubeletVersion ?? ''}   v${target}`);
      lines.push('', "Upgrade to the latest version in the v" + target.split('.').slice(0, 2).join('.') + ' series:', '', 'COMPONENT                 NODE   CURRENT   TARGET');
      for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) lines.push(`${c.padEnd(26)}        v${current}   v${target}`);
      lines.push('', 'You can now apply the upgrade by executing the following command:', '', `\tkubeadm upgrade apply v${target}`, '');
      return lines.join('\n') + '\n';
    }
    if (action === 'apply') {
      if (!cp) throw new Error('[upgrade/apply] FATAL: this node is not a control plane node');
      const target = (version ?? '').replace(/^v/, '');
      if (!/^\d+\.\d+\.\d+$/.test(target)) throw new Error(`[upgrade/version] FATAL: the version argument is invalid due to these errors:\n\n\t- couldn't parse version "${version ?? ''}"`);
      this.versionPolicy(target, current, kubeadmVersion);
      this.healthChecks(ignore);
      this.staticPodStuck(host, 'apply');
      this.world.kubernetesVersion = target;
      this.kubelets.upgradeMirrorPods(host.name, target);
      this.renewOnUpgrade(host);
      this.uploadConfig(target);
      return [
        '[preflight] Running pre-flight checks.',
        '[upgrade/config] Reading configuration from the cluster...',
        `[upgrade/version] You have chosen to change the cluster version to "v${target}"`,
        `[upgrade/versions] Cluster version: v${current}`,
        `[upgrade/versions] kubeadm version: v${kubeadmVersion}`,
        `[upgrade/prepull] Pulling images required for setting up a Kubernetes cluster`,
        `[upgrade/apply] Upgrading your Static Pod-hosted control plane to version "v${target}" (timeout: 5m0s)...`,
        '[upgrade/staticpods] Renewing apiserver certificate',
        '[upgrade/staticpods] Component "kube-apiserver" upgraded successfully!',
        '[upgrade/staticpods] Component "kube-controller-manager" upgraded successfully!',
        '[upgrade/staticpods] Component "kube-scheduler" upgraded successfully!',
        '[upgrade] The control plane instance for this node was successfully updated!',
        '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace',
        ...this.applyAddons(target),
        '',
        `[upgrade/successful] SUCCESS! Your cluster was upgraded to "v${target}". Enjoy!`,
        '',
        "[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.",
        '',
      ].join('\n');
    }
    // upgrade node
    if (!host.kubelet.joined) throw new Error('couldn\'t create a Kubernetes client from file "/etc/kubernetes/kubelet.conf": failed to load admin kubeconfig: open /etc/kubernetes/kubelet.conf: no such file or directory');
    const lines = ['[upgrade] Reading configuration from the cluster...', "[upgrade] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'", '[preflight] Running pre-flight checks'];
    if (cp) {
      if (cmpVersion(current, kubeadmVersion) > 0) {
        throw new Error(`[upgrade/version] FATAL: the cluster version "v${current}" is higher than the kubeadm version "v${kubeadmVersion}". Upgrade kubeadm first using the tool you used to install kubeadm\nTo see the stack trace of this error execute with --v=5 or higher`);
      }
      this.staticPodStuck(host, 'node');
      this.kubelets.upgradeMirrorPods(host.name, current);
      this.renewOnUpgrade(host);
      lines.push(`[upgrade] Upgrading your Static Pod-hosted control plane instance to version "v${current}"...`, '[upgrade/staticpods] Component "kube-apiserver" upgraded successfully!', '[upgrade] The control plane instance for this node was successfully updated!', ...this.applyAddons(current));
    } else lines.push('[preflight] Skipping prepull. Not a control plane node.', '[upgrade] Skipping phase. Not a control plane node.');
    // The kubelet reports its new version only when it restarts (systemctl restart kubelet), not here.
    lines.push('[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/kubeadm-kubelet-config/config.yaml', '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"', '[upgrade] The configuration for this node was successfully updated!', '[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.', '');
    return lines.join('\n');
  }

  /** kubeadm upgrade renews every certificate and rewrites the static pod manifests: the apiserver restarts on the new files. */
  private renewOnUpgrade(host: LabHost): void {
    this.pki.renew(host, 'all');
    this.endpoints?.restart(host.name);
  }

  /** Pretends a control-plane host's certificates were issued `daysAgo` days ago (tests of expiry handling). */
  setCertificateAge(hostName: string, daysAgo: number): void {
    this.pki.setAge(this.world.requireHost(hostName), daysAgo);
  }

  writePki(host: LabHost, controlPlane: boolean): void {
    this.pki.writePki(host, controlPlane);
  }

  setCertificateExpiry(host: LabHost, name: string, expiresInDays: number): { name: string; notAfter: string; serial: string }[] {
    if (!host.kubelet.controlPlane) throw new Error(`${host.name} is not a control-plane node: it has no kubeadm certificates`);
    if (name !== 'all' && !KUBEADM_CERTS.some((c) => c.name === name)) throw new Error(`unknown certificate "${name}"; known: all, ${KUBEADM_CERTS.map((c) => c.name).join(', ')}`);
    return this.pki.setExpiry(host, name, expiresInDays);
  }

  certs(host: LabHost, action: 'check-expiration' | 'renew', what?: string, options: { output?: string } = {}): string {
    if (!host.kubelet.joined || !host.kubelet.controlPlane) {
      throw new Error(`[${action}] Error reading configuration from the Cluster. Falling back to default configuration\nerror execution phase: open /etc/kubernetes/pki/ca.crt: no such file or directory`);
    }
    if (action === 'renew') {
      if (!what || (what !== 'all' && !KUBEADM_CERTS.some((c) => c.name === what))) throw new Error(`unknown command "${what ?? ''}" for "kubeadm certs renew"`);
      return this.pki.renew(host, what);
    }
    return this.pki.checkExpiration(host, options.output);
  }
}

/** The CoreDNS version kubeadm of a Kubernetes minor installs. */
export function corednsVersion(k8sVersion: string): string {
  const minor = Number(k8sVersion.replace(/^v/, '').split('.')[1]);
  return minor >= 33 ? 'v1.12.0' : minor >= 31 ? 'v1.11.3' : minor >= 29 ? 'v1.11.1' : 'v1.10.1';
}

/** The kube-proxy DaemonSet kubeadm's addon phase creates (every node, every taint tolerated). */
function kubeProxyDaemonSet(image: string): Record<string, any> {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
      template: {
        metadata: { labels: { 'k8s-app': 'kube-proxy' } },
        spec: {
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'kube-proxy', image, command: ['/usr/local/bin/kube-proxy'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
        },
      },
    },
  };
}
