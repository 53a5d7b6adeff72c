// A small client of a running lab for tests and `cookbook lab status`: the admin endpoint (status, counters,
// faults, host hooks, OpenStack hooks) and helpers to reach lab hosts over real SSH with the lab's key and
// host keys. Found from a state directory (lab.json) or a cluster name.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { LabError } from '../lib/core/errors.js';
import { type LabInfo, STATE_FILES, labStateDir, readLabInfo } from './state.js';
import type { LabCounters, LabFaults } from './world.js';

/** A host as the admin endpoint's /status lists it. */
export interface LabHostStatus {
  name: string;
  role: string;
  address: string;
  port: number;
  state: 'building' | 'up' | 'rebooting' | 'down' | 'deleted';
  bootId: string;
  bootedAt: string;
  serverId: string | null;
  kubelet: { joined: boolean; controlPlane: boolean; version?: string };
  kernel: { running: string; installed: string[] };
  rebootRequired: boolean;
  sshListening?: boolean;
  /** A control node's own API endpoint (labs with per-node endpoints). */
  apiserver?: { address: string; port: number };
}

/** GET /status. */
export interface LabStatus extends Omit<LabInfo, 'adminToken' | 'hosts'> {
  counters: LabCounters;
  faults: LabFaults;
  hosts: LabHostStatus[];
}

/** GET /hosts/NAME: the host's full in-memory state. */
export interface LabHostDetail extends LabHostStatus {
  hostKey: { publicBase64: string; fingerprintSha256: string };
  packages: Record<string, string>;
  heldPackages: string[];
  services: Record<string, boolean>;
  enabledServices: string[];
  /** Path -> octal mode and size. */
  files: Record<string, { mode: string; size: number }>;
}

/** What a command on a lab host returned. */
export interface LabExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Client of one running lab. */
export class LabClient {
  constructor(readonly info: LabInfo) {}

  /** The lab whose lab.json is in `dir`; LabError when there is none. */
  static fromStateDir(dir: string): LabClient {
    const info = readLabInfo(dir);
    if (!info) throw new LabError(`no running lab in ${dir} (no lab.json)`, { context: { stateDir: dir }, hint: 'start one with: cookbook lab up' });
    return new LabClient(info);
  }

  /** The lab of a cluster name in the default state location (or `stateDir`). */
  static forCluster(clusterName: string, stateDir?: string): LabClient {
    return LabClient.fromStateDir(labStateDir(clusterName, stateDir));
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = this.info.endpoints.admin + path;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.info.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new LabError(`lab ${this.info.clusterName}: admin endpoint unreachable (${(err as Error).message})`, {
        context: { url, cluster: this.info.clusterName },
        cause: err,
        hint: `is the lab running? cookbook lab status --cluster-name ${this.info.clusterName}`,
      });
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const message = (parsed as { error?: string } | undefined)?.error ?? text;
      throw new LabError(`lab admin ${method} ${path}: ${res.status} ${message}`, { context: { url, status: res.status } });
    }
    return parsed as T;
  }

  /** True when the lab's admin endpoint answers /healthz. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.info.endpoints.admin}/healthz`, { signal: AbortSignal.timeout(3000) });
      await res.text();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Endpoints, hosts with state and boot id, counters and faults. */
  status(): Promise<LabStatus> {
    return this.request('GET', '/status');
  }

  /** The counters only. */
  counters(): Promise<LabCounters> {
    return this.request('GET', '/counters');
  }

  /** Zeroes the counters (a new measurement); returns them. */
  resetCounters(): Promise<LabCounters> {
    return this.request('POST', '/counters/reset');
  }

  /** Replaces all faults. */
  setFaults(faults: LabFaults): Promise<LabFaults> {
    return this.request('PUT', '/faults', faults);
  }

  /** Merges faults (a null value removes one). */
  patchFaults(faults: { [K in keyof LabFaults]?: LabFaults[K] | null }): Promise<LabFaults> {
    return this.request('PATCH', '/faults', faults);
  }

  /** Makes a host need a reboot (a newer kernel installed unless `kernel: false`, and the sentinel file). */
  rebootRequired(host: string, options: { kernel?: boolean } = {}): Promise<LabHostStatus> {
    return this.request('POST', `/hosts/${encodeURIComponent(host)}/reboot-required`, options);
  }

  /** Reboots a host as if from outside (the hypervisor). */
  reboot(host: string): Promise<LabHostStatus> {
    return this.request('POST', `/hosts/${encodeURIComponent(host)}/reboot`);
  }

  /** A host's full state (packages, services, files, kubelet, kernel). */
  host(name: string): Promise<LabHostDetail> {
    return this.request('GET', `/hosts/${encodeURIComponent(name)}`);
  }

  /** Runs a command on a host through the admin endpoint: test setup, not counted as an SSH mutation. */
  exec(host: string, command: string, stdin?: string): Promise<LabExecResult & { reboot: boolean }> {
    return this.request('POST', `/hosts/${encodeURIComponent(host)}/exec`, { command, stdin });
  }

  /**
   * Re-issues a control node's kubeadm certificate `name` (`apiserver`, `admin.conf`, ... or `all`) to expire in
   * `expiresInDays` days, as if issued that way: the files change and its running apiserver serves the new one.
   */
  async certs(host: string, options: { name: string; expiresInDays: number }): Promise<{ name: string; notAfter: string; serial: string }[]> {
    const r = await this.request<{ certificates: { name: string; notAfter: string; serial: string }[] }>('POST', `/hosts/${encodeURIComponent(host)}/certs`, options);
    return r.certificates;
  }

  /** Creates an OpenStack application credential for the lab user. */
  applicationCredential(name?: string): Promise<{ id: string; secret: string; authUrl: string }> {
    return this.request('POST', '/openstack/application-credentials', { name });
  }

  /** Expires every OpenStack token now (clients must re-authenticate). */
  async expireTokens(): Promise<void> {
    await this.request('POST', '/openstack/tokens/expire');
  }

  /** Sets the lifetime of new OpenStack tokens (ms, real time). */
  async setTokenLifetime(ms: number): Promise<void> {
    await this.request('PUT', '/openstack/token-lifetime', { ms });
  }

  /** Changes compute quotas (instances, cores, ram, server_group_members, ...). */
  setQuotas(quotas: Record<string, number>): Promise<Record<string, number>> {
    return this.request('PATCH', '/openstack/quotas', quotas);
  }

  /** Publishes an image in the lab cloud (a new OS release to roll nodes to); returns its id and name. */
  addImage(name: string): Promise<{ id: string; name: string }> {
    return this.request('POST', '/openstack/images', { name });
  }

  /** Asks the lab process to stop (it exits after answering). */
  async shutdown(): Promise<void> {
    await this.request('POST', '/shutdown');
  }

  /** Polls /status until the host is in `state` (or gone, for 'deleted'); returns its status. */
  async waitForHost(name: string, state: LabHostStatus['state'], timeoutMs = 30_000): Promise<LabHostStatus | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const host = (await this.status()).hosts.find((h) => h.name === name);
      if (state === 'deleted' ? !host : host?.state === state) return host;
      if (Date.now() > end) throw new LabError(`lab host ${name} did not reach state ${state} within ${timeoutMs} ms (now ${host?.state ?? 'gone'})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Runs a command on a lab host over real SSH with the lab's key, checking the host key against the host's
   * current key (from the admin endpoint). Counted like any SSH command.
   */
  async ssh(host: string, command: string, options: { stdin?: string; timeoutMs?: number } = {}): Promise<LabExecResult> {
    const detail = await this.host(host);
    const key = readFileSync(join(this.info.stateDir, STATE_FILES.key), 'utf8');
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve());
        client.once('error', reject);
        client.connect({
          host: detail.address,
          port: detail.port,
          username: 'root',
          privateKey: key,
          readyTimeout: options.timeoutMs ?? 10_000,
          hostVerifier: (blob: Buffer) => blob.toString('base64') === detail.hostKey.publicBase64,
        });
      });
      return await new Promise<LabExecResult>((resolve, reject) => {
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          let stdout = '';
          let stderr = '';
          let code = 255;
          stream.on('data', (d: Buffer) => (stdout += d.toString()));
          stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          stream.on('exit', (c: number | null) => (code = c ?? 255));
          stream.on('close', () => resolve({ code, stdout, stderr }));
          stream.end(options.stdin ?? '');
        });
      });
    } finally {
      client.end();
    }
  }
}
