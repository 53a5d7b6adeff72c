// The host side of the lab's kubeadm: the files a join leaves and a reset removes, pflag-style flag parsing,
// version comparison, the failure kubeadm prints, and its prompts. The subcommands themselves are in kubeadm.ts.
import type { KubeadmBackend, LabHost, World } from '../../world.js';
import type { CommandIO, Shell } from '../interpreter.js';
import * as fs from '../fs.js';
import { APISERVER_MANIFEST, manifestEtcdServers, renderApiserverManifest } from '../../etcd/config.js';

/** The line kubeadm ends every error with. */
export const STACK_HINT = 'To see the stack trace of this error execute with --v=5 or higher\n';

/** Files kubeadm leaves on a node that joined (and, for control-plane nodes, on a control plane). */
const NODE_FILES = ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/pki/ca.crt', '/var/lib/kubelet/config.yaml'];
const CONTROL_PLANE_FILES = [
  '/etc/kubernetes/admin.conf',
  '/etc/kubernetes/super-admin.conf',
  '/etc/kubernetes/controller-manager.conf',
  '/etc/kubernetes/scheduler.conf',
  '/etc/kubernetes/manifests/kube-apiserver.yaml',
  '/etc/kubernetes/manifests/kube-controller-manager.yaml',
  '/etc/kubernetes/manifests/kube-scheduler.yaml',
  '/etc/kubernetes/pki/ca.key',
  '/etc/kubernetes/pki/apiserver.crt',
  '/etc/kubernetes/pki/apiserver.key',
  '/etc/kubernetes/pki/front-proxy-ca.crt',
  '/etc/kubernetes/pki/sa.pub',
];

/**
 * Puts a host into the joined state: kubelet config files, kubelet running at its package version. With
 * `world` (provisioning, where no kubeadm join ran) the kubeadm backend writes the real PKI files first (the
 * lab CA, the node's own certificates); files that exist already are kept (a join's backend wrote them).
 */
export function markJoined(host: LabHost, controlPlane: boolean, world?: World): void {
  world?.kubeadm?.writePki?.(host, controlPlane);
  // A provisioned control node's apiserver manifest names its port (the lab's etcd adds its servers later).
  if (controlPlane && world) writeApiserverManifest(host, world);
  const placeholder = (f: string, text: string): void => {
    if (fs.readFile(host, f) === undefined) fs.writeFile(host, f, text, { mode: 0o600 });
  };
  for (const f of NODE_FILES) placeholder(f, `# written by kubeadm join on ${host.name}\n`);
  if (controlPlane) for (const f of CONTROL_PLANE_FILES) placeholder(f, `# written by kubeadm on ${host.name}\n`);
  host.kubelet.joined = true;
  host.kubelet.controlPlane = controlPlane;
  const v = host.packages.get('kubelet');
  if (v) host.kubelet.version = v.replace(/-[^-]*$/, '');
  host.services.set('kubelet', true);
  host.enabledServices ??= new Set();
  host.enabledServices.add('kubelet');
}

/** The apiserver static pod kubeadm writes on a new control node: the external etcd servers the others use, the lab's API port. */
export function writeApiserverManifest(host: LabHost, world: World): void {
  let servers: string[] = [];
  for (const h of world.hosts.values()) {
    if (h === host || !h.kubelet.controlPlane) continue;
    servers = manifestEtcdServers(fs.readFile(h, APISERVER_MANIFEST) ?? '');
    if (servers.length) break;
  }
  fs.writeFile(host, APISERVER_MANIFEST, renderApiserverManifest(host.name, host.address, servers, world.apiserverPort), { mode: 0o600 });
}

/** Removes what kubeadm reset removes and marks the host as not joined. */
export function markReset(host: LabHost): void {
  for (const f of [...host.files.keys()]) {
    if (f.startsWith('/etc/kubernetes/') || f.startsWith('/var/lib/kubelet/') || f.startsWith('/var/lib/etcd/')) fs.removeFile(host, f);
  }
  host.kubelet.joined = false;
  host.kubelet.controlPlane = false;
}

/** pflag-style parsing: --name=value, --name value, boolean flags, repeated flags collected. */
export function parseFlags(
  args: string[],
  known: { bool: string[]; value: string[] },
): { positional: string[]; flags: Map<string, string[]>; error?: string } {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    const m = /^--?([A-Za-z0-9][A-Za-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (!m || a === '-') {
      positional.push(a);
      continue;
    }
    // Single-dash short forms kubeadm accepts.
    const name = ({ f: 'force', y: 'yes', o: 'output' } as Record<string, string>)[m[1]!] ?? m[1]!;
    if (known.bool.includes(name)) {
      flags.set(name, [...(flags.get(name) ?? []), m[2] ?? 'true']);
    } else if (known.value.includes(name)) {
      const value = m[2] ?? args[++i];
      if (value === undefined) return { positional, flags, error: `flag needs an argument: --${name}` };
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else {
      return { positional, flags, error: `unknown flag: --${name}` };
    }
  }
  return { positional, flags };
}

/** The last value of a repeated flag. */
export const one = (flags: Map<string, string[]>, name: string): string | undefined => flags.get(name)?.at(-1);
/** True when a boolean flag is given and not =false. */
export const isTrue = (flags: Map<string, string[]>, name: string): boolean => {
  const v = one(flags, name);
  return v !== undefined && v !== 'false';
};

/** Parses a Go duration (2h, 30m, 1h30m0s, 0) into seconds. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * ({ h: 3600, m: 60, s: 1, ms: 0.001 } as Record<string, number>)[m[2]!]!;
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}

/** kubeadm's binary version (from its package), e.g. 1.29.4. */
export function kubeadmVersion(host: LabHost): string {
  return (host.packages.get('kubeadm') ?? '0.0.0').replace(/-[^-]*$/, '');
}

/** Compares two x.y.z versions (a leading v ignored): negative, zero or positive. */
export function semverCompare(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** A kubeadm error: printed as kubeadm prints it, exit status 1. */
export class KubeadmFailure extends Error {}

/** Fails like kubeadm when this host has no admin kubeconfig (only control-plane nodes have one). */
export function requireAdminConf(host: LabHost): void {
  if (!fs.readFile(host, '/etc/kubernetes/admin.conf')) {
    throw new KubeadmFailure('failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory');
  }
}

/** The cluster side of kubeadm, or the connection error kubeadm prints when the lab has no API. */
export function backendOf(sh: Shell, apiServer = '127.0.0.1:6443'): KubeadmBackend {
  if (!sh.world.kubeadm) {
    throw new KubeadmFailure(
      `couldn't validate the identity of the API Server: Get "https://${apiServer}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp ${apiServer}: connect: connection refused`,
    );
  }
  return sh.world.kubeadm;
}

/** Prints a prompt and reads a yes/no answer from stdin. */
export async function confirm(io: CommandIO, prompt: string): Promise<boolean> {
  io.out(prompt);
  const answer = (await io.stdin()).trim();
  return /^[yY]/.test(answer);
}
