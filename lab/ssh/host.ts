// What a lab host looks like when it is created: a fresh Debian 12 cloud image (base packages, a kernel, an
// SSH host key) and, for the hosts that exist when the lab starts, the provisioning cookbooks would have done
// (Kubernetes packages at the cluster's version, containerd and kubelet running, joined).
import type { LabHost, World } from '../world.js';
import { BASE_KERNEL, basePackages, installPackage } from './commands/apt.js';
import { markJoined } from './commands/kubeadm-host.js';
import { generateEd25519 } from './keys.js';

/** The fields of a new host that World.addHost takes. */
export type NewHost = Omit<LabHost, 'bootId' | 'bootedAt' | 'state'> & { state?: LabHost['state'] };

/** A freshly built VM image: no Kubernetes packages, only ssh enabled, a new ed25519 host key. */
export function freshHost(options: { name: string; role: string; address: string; port: number; serverId?: string; state?: LabHost['state'] }): NewHost {
  const key = generateEd25519(`root@${options.name}`);
  return {
    name: options.name,
    role: options.role,
    address: options.address,
    port: options.port,
    state: options.state,
    hostKey: { privateKey: key.privateKey, publicBase64: key.publicBase64, fingerprintSha256: key.fingerprintSha256 },
    packages: basePackages(),
    files: new Map([
      ['/etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'],
      ['/etc/debian_version', '12.7\n'],
      ['/etc/ssh/ssh_host_ed25519_key.pub', `ssh-ed25519 ${key.publicBase64} root@${options.name}\n`],
    ]),
    fileModes: new Map(),
    dirs: new Set(['/etc/ssh', '/var/lib/kubelet', '/etc/kubernetes/manifests', '/etc/kubernetes/pki']),
    services: new Map([['ssh', true]]),
    enabledServices: new Set(['ssh']),
    heldPackages: new Set(),
    kubelet: { joined: false, controlPlane: false },
    kernel: { running: BASE_KERNEL, installed: [BASE_KERNEL] },
    serverId: options.serverId,
  };
}

/**
 * Provisions a host the way the add-node cookbook would have: Kubernetes packages pinned and held at the
 * cluster's version and containerd for Kubernetes roles, joined (as control plane for control-plane roles);
 * etcd-server for etcd members.
 */
export function provisionInitial(host: NewHost, world: World): void {
  const role = world.roles[host.role];
  const pkgVersion = `${world.kubernetesVersion}-1.1`;
  const asHost = host as LabHost;
  if (!role || role.node === 'none') {
    if (host.role === 'etcd') installPackage(asHost, undefined, 'etcd-server', '3.4.23-4+b5');
    return;
  }
  installPackage(asHost, undefined, 'containerd', '1.6.20~ds1-1+b1');
  for (const p of ['kubeadm', 'kubelet', 'kubectl']) {
    installPackage(asHost, undefined, p, pkgVersion);
    host.heldPackages!.add(p);
  }
  markJoined(asHost, role.node === 'control-plane', world);
}

/** The inventory role a host name belongs to in this world ('' when it matches none): `<prefix>-<role prefix>-<N>`. */
export function roleOfHost(world: World, name: string): string {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const [role, spec] of Object.entries(world.roles)) {
    if (new RegExp(`^${esc(world.prefix)}-${esc(spec.prefix)}-\\d+$`).test(name)) return role;
  }
  return '';
}
