// Debian packaging on a lab host: apt-get (update, install with pinned versions, remove, upgrade), apt-mark
// holds, apt-cache madison, dpkg-query. The catalogue is small but strict: unknown packages and versions fail
// as apt fails, holds and downgrades need their flags, and a new kernel image asks for a reboot.
import type { LabHost, World } from '../../world.js';
import type { CommandIO, CommandSpec, Shell } from '../interpreter.js';
import * as fs from '../fs.js';
import { UNITS, setActive } from './systemd.js';

/** The kernel lab hosts boot at creation. */
export const BASE_KERNEL = '6.1.0-25-amd64';
/** The newest kernel the lab's mirror offers (what linux-image-amd64 and upgrades install). */
export const LATEST_KERNEL = '6.1.0-28-amd64';

const K8S_PACKAGES = new Set(['kubeadm', 'kubelet', 'kubectl']);
const K8S_VERSION = /^1\.(2[7-9]|3[0-3])\.(\d|1[0-5])-1\.1$/;

/** Where a host's Kubernetes repository line lives (one repository per minor, pkgs.k8s.io style). */
export const K8S_SOURCES_LIST = '/etc/apt/sources.list.d/kubernetes.list';
/** The newest patch each minor's repository carries (the lab's pkgs.k8s.io); every patch from .0 is there. */
export const K8S_REPO_PATCHES: Readonly<Record<number, number>> = Object.freeze({ 27: 15, 28: 15, 29: 15, 30: 14, 31: 12, 32: 8, 33: 4 });
const REPO_LINE = /https:\/\/(?:pkgs\.k8s\.io|pkgs\.kubernetes\.io|packages\.kubernetes\.io)\/core:\/stable:\/v1\.(\d+)\/deb\/?/;

/** The minor of the Kubernetes repository line in a host's sources list (undefined: no line, or not pkgs.k8s.io). */
export function k8sRepoMinor(host: LabHost): number | undefined {
  const text = fs.readFile(host, K8S_SOURCES_LIST);
  const m = text === undefined ? null : REPO_LINE.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * The Kubernetes minor whose packages apt on this host knows: the one indexed by the last `apt-get update`
 * (a changed repository line counts only after an update, as with apt). Undefined: the host has no repository
 * line, and the lab's mirror then offers every version it has (hosts provisioned before repositories mattered).
 */
function k8sIndexedMinor(host: LabHost | undefined): number | undefined {
  if (!host) return undefined;
  const line = k8sRepoMinor(host);
  if (line === undefined) return undefined;
  return host.k8sRepoIndexed ?? line;
}

/** The Kubernetes package versions apt can install on this host, newest first. */
export function k8sVersionsAvailable(world: World, host: LabHost | undefined): string[] {
  const indexed = k8sIndexedMinor(host);
  const minors = indexed !== undefined ? [indexed] : (() => {
    const min = Number(world.kubernetesVersion.split('.')[1]);
    return [min + 1, min].filter((m) => K8S_REPO_PATCHES[m] !== undefined);
  })();
  const out: string[] = [];
  for (const m of minors) for (let p = K8S_REPO_PATCHES[m] ?? -1; p >= 0; p--) out.push(`1.${m}.${p}-1.1`);
  return out;
}
const KERNEL_PACKAGE = /^linux-image-(6\.1\.0-(\d{2})-amd64)$/;

const FIXED_VERSIONS: Record<string, string> = {
  containerd: '1.6.20~ds1-1+b1',
  'kubernetes-cni': '1.3.0-1.1',
  'cri-tools': '1.29.0-1.1',
  'etcd-server': '3.4.23-4+b5',
  'etcd-client': '3.4.23-4+b5',
  haproxy: '2.6.12-1+deb12u1',
  'openssh-server': '1:9.2p1-2+deb12u3',
  curl: '7.88.1-10+deb12u7',
  'ca-certificates': '20230311',
  python3: '3.11.2-1+b1',
  jq: '1.6-2.1',
  gnupg: '2.2.40-1.1',
  'apt-transport-https': '2.6.1',
  'nfs-common': '1:2.6.2-4',
  socat: '1.7.4.4-2',
  conntrack: '1:1.4.7-1+b2',
  ebtables: '2.0.11-5',
  ethtool: '1:6.1-1',
  iptables: '1.8.9-2',
  ipvsadm: '1:1.31-1+b1',
  rsync: '3.2.7-1',
  needrestart: '3.6-4+deb12u1',
  'unattended-upgrades': '2.9.1+nmu3',
};

/** Services a package's maintainer scripts enable and start on install. */
const STARTS_ON_INSTALL: Record<string, string> = { containerd: 'containerd', kubelet: 'kubelet', 'etcd-server': 'etcd', haproxy: 'haproxy' };

/** Upstream version of a kernel image package (kernel ABI 6.1.0-28 ships Debian 6.1.1xx). */
function kernelPackageVersion(abi: string): string {
  return `6.1.${100 + Number(abi)}-1`;
}

/** Packages every lab host starts with (a Debian 12 cloud image). */
export function basePackages(): Map<string, string> {
  const abi = /6\.1\.0-(\d+)-amd64/.exec(BASE_KERNEL)![1]!;
  return new Map([
    ['openssh-server', FIXED_VERSIONS['openssh-server']!],
    ['curl', FIXED_VERSIONS.curl!],
    ['ca-certificates', FIXED_VERSIONS['ca-certificates']!],
    ['python3', FIXED_VERSIONS.python3!],
    [`linux-image-${BASE_KERNEL}`, kernelPackageVersion(abi)],
    ['linux-image-amd64', kernelPackageVersion(abi)],
  ]);
}

/** The version apt would pick for `name` (no pin), or undefined when the package does not exist. */
export function candidateVersion(world: World, name: string, host?: LabHost): string | undefined {
  if (K8S_PACKAGES.has(name)) {
    if (k8sIndexedMinor(host) === undefined) return `${world.kubernetesVersion}-1.1`;
    return k8sVersionsAvailable(world, host)[0];
  }
  if (name === 'linux-image-amd64') return kernelPackageVersion(/6\.1\.0-(\d+)/.exec(LATEST_KERNEL)![1]!);
  const k = KERNEL_PACKAGE.exec(name);
  if (k) return Number(k[2]) >= 10 && Number(k[2]) <= 28 ? kernelPackageVersion(k[2]!) : undefined;
  return FIXED_VERSIONS[name];
}

/** True when the mirror offers this exact version. */
export function versionAvailable(world: World, name: string, version: string, host?: LabHost): boolean {
  if (K8S_PACKAGES.has(name)) return k8sIndexedMinor(host) === undefined ? K8S_VERSION.test(version) : k8sVersionsAvailable(world, host).includes(version);
  return candidateVersion(world, name) === version;
}

/** Debian-ish version comparison: epoch, then digit and non-digit runs. */
export function compareVersions(a: string, b: string): number {
  const epoch = (v: string): [number, string] => {
    const m = /^(\d+):(.*)$/.exec(v);
    return m ? [Number(m[1]), m[2]!] : [0, v];
  };
  const [ea, ra] = epoch(a);
  const [eb, rb] = epoch(b);
  if (ea !== eb) return ea - eb;
  const pa = ra.match(/\d+|[^\d]+/g) ?? [];
  const pb = rb.match(/\d+|[^\d]+/g) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      if (Number(x) !== Number(y)) return Number(x) - Number(y);
    } else if (x !== y) {
      // `~` sorts before everything, as in dpkg.
      if (x.startsWith('~') !== y.startsWith('~')) return x.startsWith('~') ? -1 : 1;
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/** Installs a package version with its side effects (services, kernels, reboot-required). */
export function installPackage(host: LabHost, sh: Shell | undefined, name: string, version: string): void {
  const fresh = !host.packages.has(name);
  host.packages.set(name, version);
  const unit = STARTS_ON_INSTALL[name];
  if (fresh && unit) {
    host.enabledServices ??= new Set();
    host.enabledServices.add(unit);
    if (sh) setActive(host, sh, unit, true);
    else host.services.set(unit, true);
  }
  const k = KERNEL_PACKAGE.exec(name);
  const kernel = k ? k[1]! : name === 'linux-image-amd64' ? LATEST_KERNEL : undefined;
  if (kernel && !host.kernel.installed.includes(kernel)) {
    host.kernel.installed.push(kernel);
    if (name === 'linux-image-amd64') host.packages.set(`linux-image-${kernel}`, version);
    markRebootRequired(host, `linux-image-${kernel}`);
  }
}

/** Writes the sentinel files unattended-upgrades and needrestart leave when a reboot is due. */
export function markRebootRequired(host: LabHost, pkg: string): void {
  fs.writeFile(host, '/var/run/reboot-required', '*** System restart required ***\n');
  const pkgs = fs.readFile(host, '/var/run/reboot-required.pkgs') ?? '';
  if (!pkgs.split('\n').includes(pkg)) fs.writeFile(host, '/var/run/reboot-required.pkgs', pkgs + pkg + '\n');
}

const HEADER = 'Reading package lists...\nBuilding dependency tree...\nReading state information...\n';

function aptGet(args: string[], io: CommandIO, sh: Shell): number {
  const host = sh.host;
  const options = new Set<string>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-o' || a === '-t' || a === '-c') {
      i++;
      continue;
    }
    if (a.startsWith('--')) options.add(a.replace(/=.*$/, ''));
    else if (a.startsWith('-') && a.length > 1) for (const c of a.slice(1)) options.add(`-${c}`);
    else operands.push(a);
  }
  const yes = options.has('-y') || options.has('--yes') || options.has('--assume-yes');
  const [verb, ...specs] = operands;
  switch (verb) {
    case undefined:
      io.err('E: No command given\n');
      return 100;
    case 'update': {
      sh.mutation();
      const minor = k8sRepoMinor(host);
      const base = 'Hit:1 http://deb.debian.org/debian bookworm InRelease\nHit:2 http://deb.debian.org/debian-security bookworm-security InRelease\n';
      if (minor !== undefined && K8S_REPO_PATCHES[minor] === undefined) {
        // pkgs.k8s.io has no repository for that minor: apt refuses the whole update, as it does for a 404 Release.
        const url = `https://pkgs.k8s.io/core:/stable:/v1.${minor}/deb`;
        io.out(base + `Err:3 ${url}  InRelease\n  404  Not Found [IP: 127.0.0.1 443]\nReading package lists...\n`);
        io.err(`E: The repository '${url}  InRelease' does not have a Release file.\nN: Updating from such a repository can't be done securely, and is therefore disabled by default.\n`);
        return 100;
      }
      if (minor !== undefined) host.k8sRepoIndexed = minor;
      io.out(base + (minor !== undefined ? `Hit:3 https://pkgs.k8s.io/core:/stable:/v1.${minor}/deb  InRelease\n` : '') + 'Reading package lists...\n');
      return 0;
    }
    case 'clean':
    case 'autoclean':
    case 'autoremove':
      sh.mutation();
      io.out(HEADER + '0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n');
      return 0;
    case 'install':
      return install(specs, options, yes, io, sh);
    case 'remove':
    case 'purge': {
      sh.mutation();
      const missing = specs.filter((s) => candidateVersion(sh.world, s, host) === undefined && !host.packages.has(s));
      if (missing.length) {
        io.err(HEADER + `E: Unable to locate package ${missing[0]}\n`);
        return 100;
      }
      const held = specs.filter((s) => host.heldPackages?.has(s) && host.packages.has(s));
      if (held.length && !options.has('--allow-change-held-packages')) {
        io.err(HEADER + 'E: Held packages were changed and -y was used without --allow-change-held-packages.\n');
        return 100;
      }
      let removed = 0;
      for (const s of specs) {
        if (!host.packages.delete(s)) continue;
        removed++;
        for (const [unit, spec] of Object.entries(UNITS)) {
          if (spec.package === s) {
            setActive(host, sh, unit, false);
            host.services.delete(unit);
            host.enabledServices?.delete(unit);
          }
        }
      }
      io.out(HEADER + `0 upgraded, 0 newly installed, ${removed} to remove and 0 not upgraded.\n`);
      return 0;
    }
    case 'upgrade':
    case 'full-upgrade':
    case 'dist-upgrade': {
      sh.mutation();
      if (!yes) {
        io.out(HEADER + 'Do you want to continue? [Y/n] Abort.\n');
        return 1;
      }
      let upgraded = 0;
      // Kernel updates are what the model user's reboot cookbook is for; held packages stay.
      if (!host.kernel.installed.includes(LATEST_KERNEL) && !host.heldPackages?.has('linux-image-amd64')) {
        installPackage(host, sh, 'linux-image-amd64', candidateVersion(sh.world, 'linux-image-amd64')!);
        upgraded++;
      }
      io.out(HEADER + `Calculating upgrade...\n${upgraded} upgraded, ${upgraded} newly installed, 0 to remove and 0 not upgraded.\n`);
      return 0;
    }
    default:
      io.err(`E: Invalid operation ${verb}\n`);
      return 100;
  }
}

function install(specs: string[], options: Set<string>, yes: boolean, io: CommandIO, sh: Shell): number {
  const host = sh.host;
  sh.mutation();
  if (specs.length === 0) {
    io.out(HEADER + '0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n');
    return 0;
  }
  const plan: { name: string; version: string; action: 'new' | 'upgrade' | 'downgrade' | 'same' }[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const pinned = eq < 0 ? undefined : spec.slice(eq + 1);
    const candidate = candidateVersion(sh.world, name, host);
    if (candidate === undefined) {
      io.out(HEADER);
      io.err(`E: Unable to locate package ${name}\n`);
      return 100;
    }
    if (pinned !== undefined && !versionAvailable(sh.world, name, pinned, host)) {
      io.out(HEADER);
      io.err(`E: Version '${pinned}' for '${name}' was not found\n`);
      return 100;
    }
    const version = pinned ?? candidate;
    const current = host.packages.get(name);
    const cmp = current === undefined ? 1 : compareVersions(version, current);
    // Without a pin apt never downgrades: an installed newer version stays.
    const action = current === undefined ? 'new' : cmp === 0 || (pinned === undefined && cmp < 0) ? 'same' : cmp > 0 ? 'upgrade' : 'downgrade';
    plan.push({ name, version: action === 'same' ? current! : version, action });
  }
  const changing = plan.filter((p) => p.action !== 'same');
  if (changing.some((p) => host.heldPackages?.has(p.name)) && !options.has('--allow-change-held-packages')) {
    io.out(HEADER);
    io.err('E: Held packages were changed and -y was used without --allow-change-held-packages.\n');
    return 100;
  }
  if (changing.some((p) => p.action === 'downgrade') && !options.has('--allow-downgrades')) {
    io.out(HEADER);
    io.err('E: Packages were downgraded and -y was used without --allow-downgrades.\n');
    return 100;
  }
  // Kubernetes and kernel packages always pull dependencies, so apt asks; with no terminal the answer is "no".
  if (changing.length > 0 && !yes) {
    io.out(HEADER + 'Do you want to continue? [Y/n] Abort.\n');
    return 1;
  }
  let out = HEADER;
  for (const p of plan) if (p.action === 'same') out += `${p.name} is already the newest version (${p.version}).\n`;
  const fresh = changing.filter((p) => p.action === 'new');
  const upgraded = changing.filter((p) => p.action === 'upgrade');
  const downgraded = changing.filter((p) => p.action === 'downgrade');
  if (fresh.length) out += `The following NEW packages will be installed:\n  ${fresh.map((p) => p.name).join(' ')}\n`;
  if (upgraded.length) out += `The following packages will be upgraded:\n  ${upgraded.map((p) => p.name).join(' ')}\n`;
  if (downgraded.length) out += `The following packages will be DOWNGRADED:\n  ${downgraded.map((p) => p.name).join(' ')}\n`;
  out += `${upgraded.length} upgraded, ${fresh.length} newly installed, ${downgraded.length} downgraded, 0 to remove and 0 not upgraded.\n`;
  for (const p of changing) {
    installPackage(host, sh, p.name, p.version);
    out += `Setting up ${p.name} (${p.version}) ...\n`;
  }
  io.out(out);
  return 0;
}

const aptMark: CommandSpec = {
  run(args, io, sh) {
    const [verb, ...names] = args.filter((a) => !a.startsWith('-'));
    const host = sh.host;
    if (verb === 'showhold') {
      for (const n of [...(host.heldPackages ?? [])].sort()) io.out(n + '\n');
      return 0;
    }
    if (verb !== 'hold' && verb !== 'unhold') {
      io.err(`E: Invalid operation ${verb ?? ''}\n`);
      return 100;
    }
    sh.mutation();
    for (const n of names) {
      if (!host.packages.has(n)) {
        io.err(`E: Unable to locate package ${n}\n`);
        return 100;
      }
    }
    for (const n of names) {
      host.heldPackages ??= new Set();
      if (verb === 'hold') {
        io.out(host.heldPackages.has(n) ? `${n} was already set on hold.\n` : `${n} set on hold.\n`);
        host.heldPackages.add(n);
      } else {
        io.out(host.heldPackages.delete(n) ? `Canceled hold on ${n}.\n` : `${n} was already not on hold.\n`);
      }
    }
    return 0;
  },
};

const aptCache: CommandSpec = {
  run(args, io, sh) {
    const [verb, ...names] = args.filter((a) => !a.startsWith('-'));
    if (verb !== 'madison' && verb !== 'policy') {
      io.err(`E: Invalid operation ${verb ?? ''}\n`);
      return 100;
    }
    for (const n of names) {
      const candidate = candidateVersion(sh.world, n, sh.host);
      if (candidate === undefined) {
        if (verb === 'madison') io.err(`N: Unable to locate package ${n}\n`);
        continue;
      }
      // Without a repository line the lab mirror carries every patch of the running minor and of the next one.
      const versions = K8S_PACKAGES.has(n) ? k8sVersionsAvailable(sh.world, sh.host) : [candidate];
      const minor = k8sIndexedMinor(sh.host);
      const origin = K8S_PACKAGES.has(n) ? `https://pkgs.k8s.io/core:/stable:/v1.${minor ?? '*'}/deb` : 'http://deb.debian.org/debian bookworm/main amd64';
      if (verb === 'madison') {
        for (const v of versions) io.out(`${n.padStart(10)} | ${v} | ${origin} Packages\n`);
      } else {
        io.out(`${n}:\n  Installed: ${sh.host.packages.get(n) ?? '(none)'}\n  Candidate: ${versions[0]}\n`);
      }
    }
    return 0;
  },
};

function dpkgFormat(format: string, name: string, version: string): string {
  return format
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\$\{(Version|Package|Status|db:Status-Abbrev|binary:Package)(;-?\d+)?\}/g, (_m, field: string) => {
      switch (field) {
        case 'Version':
          return version;
        case 'Status':
          return 'install ok installed';
        case 'db:Status-Abbrev':
          return 'ii ';
        default:
          return name;
      }
    });
}

const dpkgQuery: CommandSpec = {
  run(args, io, sh) {
    let format = '${binary:Package}\t${Version}\n';
    let mode: 'W' | 's' | 'l' | undefined;
    const names: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-W' || a === '--show') mode = 'W';
      else if (a === '-s' || a === '--status') mode = 's';
      else if (a === '-l' || a === '--list') mode = 'l';
      else if (a === '-f' || a === '--showformat') format = args[++i] ?? '';
      else if (a.startsWith('-f=') || a.startsWith('--showformat=')) format = a.slice(a.indexOf('=') + 1);
      else if (a.startsWith('-f')) format = a.slice(2);
      else names.push(a);
    }
    if (!mode) {
      io.err('dpkg-query: error: need an action option\n');
      return 2;
    }
    let status = 0;
    for (const n of names) {
      const v = sh.host.packages.get(n);
      if (v === undefined) {
        io.err(mode === 's' ? `dpkg-query: package '${n}' is not installed and no information is available\n` : `dpkg-query: no packages found matching ${n}\n`);
        status = 1;
        continue;
      }
      if (mode === 'W') io.out(dpkgFormat(format, n, v));
      else if (mode === 's') io.out(`Package: ${n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\n\n`);
      else io.out(`ii  ${n.padEnd(20)} ${v.padEnd(20)} amd64        ${n}\n`);
    }
    return status;
  },
};

/**
 * curl, for the one site the lab serves: pkgs.k8s.io's per-minor `Packages` index (so a cookbook can check
 * that a version exists before it changes any host's sources). A minor without a repository answers 404;
 * every other host does not resolve (the lab has no internet).
 */
const curl: CommandSpec = {
  package: 'curl',
  run(args, io) {
    const url = args.filter((a) => !a.startsWith('-')).at(-1) ?? '';
    const fail = args.some((a) => /^-[a-zA-Z]*f/.test(a) || a === '--fail');
    const m = /^https:\/\/(?:pkgs\.k8s\.io|pkgs\.kubernetes\.io)\/core:\/stable:\/v1\.(\d+)\/deb\/Packages$/.exec(url);
    if (!m) {
      const host = /^https?:\/\/([^/]+)/.exec(url)?.[1] ?? url;
      io.err(`curl: (6) Could not resolve host: ${host}\n`);
      return 6;
    }
    const latest = K8S_REPO_PATCHES[Number(m[1])];
    if (latest === undefined) {
      if (fail) {
        io.err('curl: (22) The requested URL returned error: 404\n');
        return 22;
      }
      io.out('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>\n');
      return 0;
    }
    let out = '';
    for (const pkg of ['kubeadm', 'kubectl', 'kubelet']) {
      for (let p = 0; p <= latest; p++) out += `Package: ${pkg}\nVersion: 1.${m[1]}.${p}-1.1\nArchitecture: amd64\nFilename: ${pkg}_1.${m[1]}.${p}-1.1_amd64.deb\n\n`;
    }
    io.out(out);
    return 0;
  },
};

/** The packaging command table. */
export const aptCommands: Record<string, CommandSpec> = {
  curl,
  'apt-get': { run: (args, io, sh) => aptGet(args, io, sh) },
  'apt-mark': aptMark,
  'apt-cache': aptCache,
  'dpkg-query': dpkgQuery,
  dpkg: {
    run(args, io, sh) {
      if (args[0] === '-s' || args[0] === '-l' || args[0] === '--status' || args[0] === '--list') return dpkgQuery.run(args, io, sh);
      io.err('lab: dpkg supports -s and -l only; install packages with apt-get\n');
      return 2;
    },
  },
};
