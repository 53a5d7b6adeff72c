// The SSH side of the lab: one ssh2 Server per lab host, on the host's own loopback address and the lab's
// shared port, driven by world events. A host that is up listens; one that reboots or goes down stops
// listening (connections are refused) and its live sessions drop; a deleted host is gone. Authentication is
// key-only (the lab's operator key, user root). Exec requests run in the in-memory interpreter; nothing runs
// on the real machine.
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session } from 'ssh2';
import { LabError } from '../../lib/core/errors.js';
import type { LabHost, World } from '../world.js';
import { type AddressBlock, probeBind, reserveBlock } from './addresses.js';
import { servicesAfterBoot } from './commands/systemd.js';
import { runCommand } from './interpreter.js';
import { serveSftp } from './sftp.js';

const { Server, utils } = ssh2;

/** Options of the SSH fleet. */
export interface SshFleetOptions {
  /** Public key (base64 blob) root accepts on every host. */
  authorizedKey: string;
  /** Log sink for connection errors (the daemon's log); default: drop. */
  log?: (message: string) => void;
}

interface Listener {
  server: InstanceType<typeof Server>;
  clients: Set<Connection>;
  sockets: Set<Socket>;
}

/** Every lab host's SSH server. */
export class SshFleet {
  private readonly listeners = new Map<string, Listener>();
  /** Per-host queue so listen/close of one host never interleave. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly authorized: Buffer;
  private readonly authKey: ReturnType<typeof utils.parseKey>;
  private stopped = false;
  private readonly onUp = (h: LabHost): void => this.enqueue(h, () => this.listen(h));
  private readonly onDown = (h: LabHost): void => {
    servicesAfterBoot(h);
    this.enqueue(h, () => this.close(h.name));
  };
  private readonly onRemoved = (h: LabHost): void => this.enqueue(h, () => this.close(h.name));

  private constructor(
    readonly world: World,
    readonly block: AddressBlock,
    readonly port: number,
    private readonly options: SshFleetOptions,
  ) {
    this.authorized = Buffer.from(options.authorizedKey, 'base64');
    this.authKey = utils.parseKey(`ssh-ed25519 ${options.authorizedKey}`);
    if (this.authKey instanceof Error) throw new LabError(`lab: cannot parse the operator key: ${this.authKey.message}`);
  }

  /** Reserves an address block and a port, subscribes to the world; hosts that are up start listening. */
  static async start(world: World, options: SshFleetOptions): Promise<SshFleet> {
    const { block, port } = await reserveBlock();
    const fleet = new SshFleet(world, block, port, options);
    world.on('host-up', fleet.onUp);
    world.on('host-down', fleet.onDown);
    world.on('host-removed', fleet.onRemoved);
    for (const h of world.hosts.values()) if (h.state === 'up') fleet.onUp(h);
    return fleet;
  }

  /** The next free address of the lab's block (free on the lab's port). */
  async allocateAddress(): Promise<string> {
    for (let i = 0; i < 32; i++) {
      const address = this.block.take();
      try {
        await probeBind(address, this.port);
        return address;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    throw new LabError(`lab: no free address on port ${this.port} in 127.${this.block.a}.x.x`);
  }

  /** Resolves when every pending listen/close has finished (tests, startLab). */
  async settled(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }

  /** True when the host's SSH server is listening. */
  isListening(name: string): boolean {
    return this.listeners.has(name);
  }

  /** Number of live SSH connections to a host. */
  connections(name: string): number {
    return this.listeners.get(name)?.clients.size ?? 0;
  }

  private enqueue(host: LabHost, op: () => Promise<void>): void {
    const prev = this.queues.get(host.name) ?? Promise.resolve();
    const next = prev.then(op).catch((err: unknown) => this.options.log?.(`ssh ${host.name}: ${(err as Error).message}`));
    this.queues.set(host.name, next);
  }

  private async listen(host: LabHost): Promise<void> {
    if (this.stopped || this.listeners.has(host.name)) return;
    // A host that went down again before we got here stays closed.
    if (this.world.hosts.get(host.name) !== host || host.state !== 'up') return;
    const listener: Listener = {
      server: new Server({ hostKeys: [host.hostKey.privateKey] }, (client) => this.onConnection(host, listener, client)),
      clients: new Set(),
      sockets: new Set(),
    };
    // Track raw sockets too: a client still in key exchange must also drop when the host goes down.
    const raw = (listener.server as unknown as { _srv: import('node:net').Server })._srv;
    raw.on('connection', (sock: Socket) => {
      listener.sockets.add(sock);
      sock.once('close', () => listener.sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(this.port, host.address, () => {
        listener.server.off('error', reject);
        listener.server.on('error', (err: Error) => this.options.log?.(`ssh ${host.name}: ${err.message}`));
        resolve();
      });
    });
    this.listeners.set(host.name, listener);
  }

  private async close(name: string): Promise<void> {
    const listener = this.listeners.get(name);
    if (!listener) return;
    this.listeners.delete(name);
    const closed = new Promise<void>((resolve) => listener.server.close(() => resolve()));
    // A machine going down sends no SSH disconnect: the TCP connections just end, so clients report
    // "Connection to … closed by remote host." as they do for a real reboot.
    for (const s of listener.sockets) s.destroy();
    await closed;
  }

  private onConnection(host: LabHost, listener: Listener, client: Connection): void {
    listener.clients.add(client);
    client.on('close', () => listener.clients.delete(client));
    client.on('error', (err: Error) => this.options.log?.(`ssh ${host.name}: client error: ${err.message}`));
    client.on('authentication', (ctx) => this.authenticate(ctx));
    client.on('ready', () => {
      client.on('session', (accept) => this.onSession(host, accept()));
      // No port forwarding, agent or X11 on lab hosts.
      client.on('tcpip', (_accept, reject) => reject());
      client.on('request', (_accept, reject) => reject?.());
    });
  }

  private authenticate(ctx: AuthContext): void {
    if (ctx.method !== 'publickey' || ctx.username !== 'root') return ctx.reject(['publickey']);
    const key = ctx.key;
    const matches = key.algo === 'ssh-ed25519' && key.data.length === this.authorized.length && timingSafeEqual(key.data, this.authorized);
    if (!matches) return ctx.reject(['publickey']);
    // Without a signature the client only asks whether the key would do.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    const parsed = this.authKey as Exclude<typeof this.authKey, Error>;
    const ok = (Array.isArray(parsed) ? parsed[0] : parsed).verify(ctx.blob, ctx.signature, ctx.hashAlgo);
    if (ok === true) ctx.accept();
    else ctx.reject(['publickey']);
  }

  private onSession(host: LabHost, session: Session): void {
    const env: Record<string, string> = {};
    session.on('pty', (accept) => accept?.());
    session.on('window-change', (accept) => accept?.());
    session.on('env', (accept, _reject, info) => {
      env[info.key] = info.val;
      accept?.();
    });
    session.on('auth-agent', (_accept, reject) => reject?.());
    session.on('x11', (_accept, reject) => reject?.());
    session.on('signal', (accept) => accept?.());
    session.on('exec', (accept, _reject, info) => this.exec(host, accept(), info.command, env));
    // A shell without a command runs what arrives on stdin (ssh host < script), then exits.
    session.on('shell', (accept) => this.exec(host, accept(), undefined, env));
    session.on('sftp', (accept) => {
      this.world.counters.requests.ssh++;
      serveSftp(accept(), host, this.world);
    });
    session.on('subsystem', (_accept, reject) => reject?.());
  }

  private exec(host: LabHost, channel: ServerChannel, command: string | undefined, env: Record<string, string>): void {
    const counters = this.world.counters;
    counters.requests.ssh++;
    const chunks: Buffer[] = [];
    let ended = false;
    let waiters: (() => void)[] = [];
    channel.on('data', (d: Buffer) => {
      chunks.push(d);
      this.world.counters.bytes.ssh += d.length;
    });
    // EOF, or the connection going away, ends stdin for a command that reads it.
    const eof = (): void => {
      ended = true;
      for (const w of waiters) w();
      waiters = [];
    };
    channel.on('end', eof);
    channel.on('close', eof);
    channel.on('error', () => {});
    const stdin = async (): Promise<string> => {
      if (!ended) await new Promise<void>((r) => waiters.push(r));
      return Buffer.concat(chunks).toString('utf8');
    };
    const write = (stream: NodeJS.WritableStream, text: string): void => {
      if (!text) return;
      this.world.counters.bytes.ssh += Buffer.byteLength(text);
      stream.write(text);
    };
    const run = async (): Promise<void> => {
      const script = command ?? (await stdin());
      const result = await runCommand(host, this.world, script, {
        stdin: command === undefined ? async () => '' : stdin,
        out: (t) => write(channel, t),
        err: (t) => write(channel.stderr, t),
        env,
      });
      channel.exit(result.code);
      channel.end();
      if (result.reboot) {
        // The command returns first, then the machine goes down and the connection drops.
        setTimeout(() => {
          if (this.world.hosts.get(host.name) === host && host.state === 'up') this.world.rebootHost(host.name);
        }, 30);
      }
    };
    run().catch((err: unknown) => {
      this.options.log?.(`ssh ${host.name}: exec failed: ${(err as Error).stack ?? String(err)}`);
      try {
        channel.stderr.write(`lab: internal error: ${(err as Error).message}\n`);
        channel.exit(255);
        channel.end();
      } catch {
        /* channel gone */
      }
    });
  }

  /** Closes every host's server and connection and unsubscribes from the world. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.world.off('host-up', this.onUp);
    this.world.off('host-down', this.onDown);
    this.world.off('host-removed', this.onRemoved);
    await this.settled();
    await Promise.all([...this.listeners.keys()].map((name) => this.close(name)));
  }
}
