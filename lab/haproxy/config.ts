// What a lab load balancer's HAProxy is configured with: the host's /etc/haproxy/haproxy.cfg as provisioning
// writes it (the model user's shape) and the real file the lab hands to the real haproxy, with the host's paths
// (admin socket, server-state file) mapped into the lab's state directory and every address kept on 127.0.0.0/8.
// Pure text functions; lab/haproxy/process.ts applies them.
import { join } from 'node:path';

/** The HAProxy configuration file on a lab load balancer. */
export const HAPROXY_CFG = '/etc/haproxy/haproxy.cfg';
/** The admin socket the provisioned configuration declares. */
export const ADMIN_SOCKET = '/run/haproxy/admin.sock';
/** Where reloads keep the servers' state (admin states such as drain survive a reload). */
export const SERVER_STATE_FILE = '/var/lib/haproxy/server-state';
/** The frontend and backend carrying the Kubernetes API. */
export const K8S_BACKEND = 'k8s-api';
/** Markers of the block of server lines cookbooks manage (lb-ops edits between them). */
export const MANAGED_BEGIN = '# BEGIN cluster-cookbooks managed block';
/** End marker of the managed block. */
export const MANAGED_END = '# END cluster-cookbooks managed block';

/** One API server behind the load balancer. */
export interface Backend {
  name: string;
  address: string;
  port: number;
}

/** The haproxy.cfg provisioning writes on a load balancer: TCP mode, /readyz checks, one server per control node. */
export function renderHaproxyConfig(o: { bindAddress: string; port: number; backends: Backend[] }): string {
  return [
    '# HAProxy in front of the Kubernetes API servers (written by provisioning)',
    'global',
    // expose-fd listeners: a reload hands the listening sockets over (-x), so no connection is refused meanwhile.
    `    stats socket ${ADMIN_SOCKET} mode 660 level admin expose-fd listeners`,
    '    stats timeout 30s',
    `    server-state-file ${SERVER_STATE_FILE}`,
    // A watch held open would keep an old process alive for an hour after a reload.
    '    hard-stop-after 30s',
    '',
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 1h',
    '    timeout server 1h',
    '    timeout check 2s',
    '    load-server-state-from-file global',
    '',
    `frontend ${K8S_BACKEND}`,
    `    bind ${o.bindAddress}:${o.port}`,
    `    default_backend ${K8S_BACKEND}`,
    '',
    `backend ${K8S_BACKEND}`,
    // A TCP check passes on an API server that accepts connections but is not ready: check /readyz.
    '    option httpchk GET /readyz',
    '    http-check expect status 200',
    '    default-server check check-ssl verify none inter 500ms fall 2 rise 2',
    `    ${MANAGED_BEGIN}`,
    ...o.backends.map((b) => `    server ${b.name} ${b.address}:${b.port}`),
    `    ${MANAGED_END}`,
    '',
  ].join('\n');
}

/** The flat name a host path maps to inside the host's lab directory (`/run/haproxy/admin.sock` → `run_haproxy_admin.sock`). */
export function mappedName(hostPath: string): string {
  return hostPath.replace(/^\/+/, '').replace(/\/+/g, '_');
}

/** The real file a host path maps to, in the host's lab directory. */
export function mappedPath(hostDir: string, hostPath: string): string {
  return join(hostDir, mappedName(hostPath));
}

/** Keywords that open a section (HAProxy ignores indentation). */
const SECTIONS = new Set(['global', 'defaults', 'frontend', 'backend', 'listen', 'peers', 'resolvers', 'userlist', 'program', 'mailers', 'cache', 'ring']);
/** Directives of `global` that make no sense for a process the lab runs in the foreground as itself. */
const DROPPED_GLOBAL = new Set(['daemon', 'chroot', 'user', 'group', 'uid', 'gid', 'log', 'pidfile', 'master-worker', 'nbproc', 'log-send-hostname']);
/** Directives dropped everywhere: files of the real machine the host's config cannot mean. */
const DROPPED_ANYWHERE = new Set(['errorfile', 'log']);

/** What translating a host's configuration gave: the real text and the host paths it maps, or why it cannot run. */
export interface RealConfig {
  text: string;
  /** Host path -> real path, for the state files the config names. */
  paths: Map<string, string>;
  /**
   * Host path of an admin socket -> its name relative to the host's lab directory (haproxy's working directory):
   * a unix socket path is limited to 107 bytes, which a lab's state directory can exceed.
   */
  socketNames: Map<string, string>;
  /** The host paths of the admin sockets (`stats socket`), first one first. */
  sockets: string[];
  /** The host path of the server-state file, when the config keeps one. */
  stateFile?: string;
  /** Address:port pairs the frontends bind. */
  binds: { address: string; port: number }[];
}

/**
 * Translates the host's haproxy.cfg into the file the real haproxy reads. Returns a string (the reason) when the
 * config would make the real process touch something outside the lab: a bind or server address off
 * 127.0.0.0/8, or a bind on an address other than the host's own (as the real haproxy, which fails with "cannot
 * bind socket", it does not start).
 */
export function realConfig(hostText: string, o: { hostDir: string; address: string; resolve: (name: string) => string | undefined }): RealConfig | string {
  const out: string[] = [];
  const paths = new Map<string, string>();
  const socketNames = new Map<string, string>();
  const sockets: string[] = [];
  const binds: { address: string; port: number }[] = [];
  let stateFile: string | undefined;
  let section = '';
  const map = (p: string): string => {
    const real = mappedPath(o.hostDir, p);
    paths.set(p, real);
    return real;
  };
  const lines = hostText.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const words = raw.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) {
      out.push(raw);
      continue;
    }
    const at = `line ${n + 1}`;
    const kw = words[0]!;
    if (SECTIONS.has(kw)) {
      section = kw;
      out.push(raw);
      continue;
    }
    if (DROPPED_ANYWHERE.has(kw) || (section === 'global' && DROPPED_GLOBAL.has(kw))) {
      out.push(`    # (lab) ${raw.trim()}`);
      continue;
    }
    if (section === 'global' && kw === 'stats' && words[1] === 'socket' && words[2]) {
      const target = words[2];
      if (target.startsWith('/')) {
        sockets.push(target);
        socketNames.set(target, mappedName(target));
        words[2] = `unix@${mappedName(target)}`;
      } else {
        const problem = addressProblem(target, o.address, 'stats socket', at);
        if (problem) return problem;
      }
      out.push('    ' + words.join(' '));
      continue;
    }
    if (section === 'global' && (kw === 'server-state-file' || kw === 'server-state-base') && words[1]?.startsWith('/')) {
      if (kw === 'server-state-file') stateFile = words[1];
      words[1] = map(words[1]);
      out.push('    ' + words.join(' '));
      continue;
    }
    if (kw === 'bind') {
      const rewritten: string[] = [];
      for (const spec of (words[1] ?? '').split(',')) {
        const m = /^(?:ipv4@)?(.*):(\d+)$/.exec(spec);
        if (!m) return `${at}: bind ${spec}: the lab binds only address:port on the host's own address`;
        // One interface per lab host: a wildcard bind means the host's own address.
        const address = m[1] === '' || m[1] === '*' || m[1] === '0.0.0.0' ? o.address : m[1]!;
        if (address !== o.address) return `${at}: bind ${spec}: cannot bind socket (Cannot assign requested address): ${address} is not this host's address ${o.address}`;
        binds.push({ address, port: Number(m[2]) });
        rewritten.push(`${address}:${m[2]}`);
      }
      words[1] = rewritten.join(',');
      out.push('    ' + words.join(' '));
      continue;
    }
    if (kw === 'server' && words[2]) {
      const m = /^(?:ipv4@)?([^:]+)(?::(\d+))?$/.exec(words[2]);
      if (!m) return `${at}: server ${words[1]}: cannot parse address ${words[2]}`;
      const address = isIPv4(m[1]!) ? m[1]! : o.resolve(m[1]!);
      if (!address) return `${at}: server ${words[1]}: could not resolve address '${m[1]}'`;
      if (!address.startsWith('127.')) return `${at}: server ${words[1]}: ${address} is outside 127.0.0.0/8 (the lab never connects there)`;
      words[2] = m[2] ? `${address}:${m[2]}` : address;
      out.push('    ' + words.join(' '));
      continue;
    }
    out.push(raw);
  }
  return { text: out.join('\n'), paths, socketNames, sockets, binds, ...(stateFile ? { stateFile } : {}) };
}

function isIPv4(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

function addressProblem(spec: string, own: string, what: string, at: string): string | undefined {
  const m = /^(?:ipv4@)?([\d.]+):\d+$/.exec(spec);
  if (!m) return `${at}: ${what} ${spec}: the lab supports a unix socket path or ipv4@ADDRESS:PORT`;
  return m[1] === own ? undefined : `${at}: ${what} ${spec}: ${m[1]} is not this host's address ${own}`;
}
