// What HAProxy's admin socket answers (pure parsing): `show stat` (CSV: status, current sessions per server)
// and `show servers state` (space-separated: operational and administrative state, the admin flags a drain
// sets). lib/haproxy/client.ts asks, these read; table tests feed them real HAProxy output.

/** One server's line of `show stat`. */
export interface StatRow {
  backend: string;
  server: string;
  /** UP, DOWN, DRAIN, MAINT, NOLB, "UP 1/2" (going down), "DOWN 1/2" (going up), "no check", ... */
  status: string;
  /** Current sessions (connections) on the server. */
  sessions: number;
  /** Result of the last health check (L7OK, L4CON, L7STS, ...), empty without checks. */
  checkStatus: string;
}

/** Parses `show stat` CSV (header `# pxname,svname,...`); keeps server rows only (no FRONTEND/BACKEND totals). */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error(`no "# pxname,svname,..." header in the answer to show stat: ${text.slice(0, 200)}`);
  const cols = header.slice(2).split(',');
  const at = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`show stat has no ${name} column`);
    return i;
  };
  const [px, sv, scur, status, check] = [at('pxname'), at('svname'), at('scur'), at('status'), cols.indexOf('check_status')];
  const rows: StatRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    const f = line.split(',');
    if (f[sv] === 'FRONTEND' || f[sv] === 'BACKEND' || f.length < cols.length - 1) continue;
    rows.push({ backend: f[px]!, server: f[sv]!, status: f[status]!, sessions: Number(f[scur]) || 0, checkStatus: check >= 0 ? (f[check] ?? '') : '' });
  }
  return rows;
}

// srv_admin_state flags (HAProxy's SRV_ADMF_*): forced/inherited/config maintenance, forced/inherited drain, resolution maintenance.
const ADMF_MAINT = 0x01 | 0x02 | 0x04 | 0x20;
const ADMF_DRAIN = 0x08 | 0x10;

/** One server's line of `show servers state`. */
export interface ServerStateRow {
  backend: string;
  server: string;
  address: string;
  /** 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  adminState: number;
  /** Set to drain by an operator (`set server ... state drain`) or inherited. */
  drain: boolean;
  /** In maintenance (`state maint`, `disabled` in the config, DNS resolution). */
  maint: boolean;
  port?: number;
}

/** Parses `show servers state [backend]` (version line, `# be_id be_name srv_id srv_name ...` header, rows). */
export function parseServersState(text: string): ServerStateRow[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error(`no "# be_id be_name ..." header in the answer to show servers state: ${text.slice(0, 200)}`);
  const cols = header.slice(2).split(/\s+/);
  const idx = (n: string): number => cols.indexOf(n);
  const [be, srv, addr, op, admin, port] = ['be_name', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_port'].map(idx);
  if ([be, srv, op, admin].some((i) => i! < 0)) throw new Error(`show servers state lacks be_name/srv_name/srv_op_state/srv_admin_state: ${header}`);
  const rows: ServerStateRow[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || /^\d+$/.test(line)) continue;
    const f = line.split(/\s+/);
    const adminState = Number(f[admin!]);
    rows.push({
      backend: f[be!]!,
      server: f[srv!]!,
      address: addr! >= 0 ? f[addr!]! : '',
      opState: Number(f[op!]),
      adminState,
      drain: (adminState & ADMF_DRAIN) !== 0,
      maint: (adminState & ADMF_MAINT) !== 0,
      ...(port! >= 0 && /^\d+$/.test(f[port!] ?? '') ? { port: Number(f[port!]) } : {}),
    });
  }
  return rows;
}

/** One backend server as an LB sees it (stat and state merged). */
export interface BackendServer {
  name: string;
  status: string;
  sessions: number;
  drain: boolean;
  maint: boolean;
  /** Taking new connections: status UP (or UP with a failed check short of `fall`), not drained or in maintenance. */
  up: boolean;
  checkStatus: string;
}

/** Merges the two answers for one backend (servers in `show stat` order). */
export function backendServers(stat: readonly StatRow[], state: readonly ServerStateRow[], backend: string): BackendServer[] {
  const states = new Map(state.filter((s) => s.backend === backend).map((s) => [s.server, s]));
  return stat
    .filter((r) => r.backend === backend)
    .map((r) => {
      const s = states.get(r.server);
      const drain = s?.drain ?? r.status.startsWith('DRAIN');
      const maint = s?.maint ?? r.status.startsWith('MAINT');
      // "UP 1/2": one health check failed, the server still takes traffic (it goes DOWN only after `fall` failures).
      return { name: r.server, status: r.status, sessions: r.sessions, drain, maint, up: /^UP( \d+\/\d+)?$/.test(r.status) && !drain && !maint, checkStatus: r.checkStatus };
    });
}

/** The answer of a `set server` / `shutdown sessions` command is empty when it worked; anything else is HAProxy's refusal. */
export function socketRefusal(answer: string): string | undefined {
  const t = answer.trim();
  return t === '' ? undefined : t;
}
