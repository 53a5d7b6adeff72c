// HAProxy configuration text (pure): find a backend's `server` lines and the cluster-cookbooks managed block,
// and compute the edit that lists or unlists one server. Nothing here does I/O; lib/haproxy/client.ts reads and
// writes the file, and table tests cover every shape without a host.

/** The lines that delimit the part of a backend cluster-cookbooks may rewrite (the operator owns the rest). */
export const BLOCK_BEGIN = '# BEGIN cluster-cookbooks managed block';
export const BLOCK_END = '# END cluster-cookbooks managed block';

// Section keywords of haproxy.cfg: a backend's body runs until the next one.
const SECTION = /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|http-errors|ring|cache|mailers|crt-store|traces)(\s|$)/;

/** A server as the LB should list it. */
export interface ServerSpec {
  name: string;
  address: string;
  port: number;
}

/** A `server` line found in a backend. */
export interface ServerLine extends ServerSpec {
  /** The line as written (trimmed). */
  text: string;
  /** 0-based line number in the file. */
  index: number;
  /** True when the line is inside the managed block. */
  managed: boolean;
}

/** What readBackend found. */
export interface BackendView {
  /** False when the file has no `backend <name>` section. */
  found: boolean;
  servers: ServerLine[];
  /** Line numbers of the managed block's BEGIN and END markers, when both are inside the backend. */
  block?: { begin: number; end: number };
  /** Indentation of the backend's body (used for new lines). */
  indent: string;
  /** A line of the managed block that is no server line (or a marker out of place): the block is not ours to rewrite. */
  problem?: string;
}

/** Splits `addr:port` (IPv6 as `[addr]:port`); undefined when there is no numeric port. */
export function splitAddress(text: string): { address: string; port: number } | undefined {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { address: m[1]!, port } : undefined;
}

/** The `server` line cluster-cookbooks writes (checks come from the backend's default-server line). */
export function renderServerLine(s: ServerSpec): string {
  return `server ${s.name} ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port}`;
}

/** Finds backend `backend`'s server lines and its managed block. */
export function readBackend(text: string, backend: string): BackendView {
  const lines = text.split('\n');
  const view: BackendView = { found: false, servers: [], indent: '    ' };
  let inside = false;
  let begin: number | undefined;
  let end: number | undefined;
  let indentSeen = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (SECTION.test(raw)) {
      if (inside) break;
      const [kw, name] = line.split(/\s+/);
      inside = kw === 'backend' && name === backend;
      view.found ||= inside;
      continue;
    }
    if (!inside || line === '') continue;
    if (!indentSeen) {
      view.indent = /^\s*/.exec(raw)![0] || '    ';
      indentSeen = true;
    }
    if (line === BLOCK_BEGIN) {
      if (begin !== undefined) view.problem ??= `line ${i + 1}: a second "${BLOCK_BEGIN}"`;
      begin = i;
      continue;
    }
    if (line === BLOCK_END) {
      if (begin === undefined || end !== undefined) view.problem ??= `line ${i + 1}: "${BLOCK_END}" without its BEGIN`;
      end = i;
      continue;
    }
    const inBlock = begin !== undefined && end === undefined;
    const words = line.split(/\s+/);
    if (words[0] === 'server' && words.length >= 3) {
      const at = splitAddress(words[2]!);
      if (at) view.servers.push({ name: words[1]!, ...at, text: line, index: i, managed: inBlock });
      else if (inBlock) view.problem ??= `line ${i + 1}: "${line}" has no address:port`;
    } else if (inBlock && !line.startsWith('#')) {
      view.problem ??= `line ${i + 1}: "${line}" inside the managed block is not a server line`;
    }
  }
  if (begin !== undefined && end === undefined) view.problem ??= `"${BLOCK_BEGIN}" has no "${BLOCK_END}" in backend ${backend}`;
  if (begin !== undefined && end !== undefined) view.block = { begin, end };
  return view;
}

/** What listing or unlisting one server needs: the lines to add and to remove (empty both when it is right). */
export interface ServerChange {
  add: string[];
  remove: string[];
}

/** The change that makes the backend list `spec` (present) or no server named `spec.name` (absent). */
export function serverChange(view: BackendView, spec: ServerSpec, present: boolean): ServerChange {
  const same = view.servers.filter((s) => s.name === spec.name);
  if (!present) return { add: [], remove: same.map((s) => s.text) };
  const want = renderServerLine(spec);
  const right = same.filter((s) => s.address === spec.address && s.port === spec.port);
  if (right.length === 1 && same.length === 1) return { add: [], remove: [] };
  // A stale line (old address) or a duplicate goes; the right one stays or is written.
  return { add: right.length ? [] : [want], remove: same.filter((s) => s !== right[0]).map((s) => s.text) };
}

/** Why the managed block cannot carry out a change (pure); undefined when it can. */
export function blockRefusal(view: BackendView, backend: string, change: ServerChange): string | undefined {
  if (!view.found) return `it has no "backend ${backend}" section`;
  if (view.problem) return `its managed block is malformed (${view.problem})`;
  if (!view.block) return `backend ${backend} has no managed block ("${BLOCK_BEGIN}" ... "${BLOCK_END}")`;
  const outside = view.servers.filter((s) => !s.managed && change.remove.includes(s.text));
  if (outside.length) return `the line(s) to remove are outside the managed block: ${outside.map((s) => `"${s.text}" (line ${s.index + 1})`).join(', ')}`;
  return undefined;
}

/** The file with `change` applied inside the managed block (call blockRefusal first); servers keep their order. */
export function applyChange(text: string, view: BackendView, change: ServerChange): string {
  if (!view.block) throw new Error('applyChange needs a managed block');
  const lines = text.split('\n');
  const drop = new Set(view.servers.filter((s) => s.managed && change.remove.includes(s.text)).map((s) => s.index));
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (i === view.block.end) for (const a of change.add) out.push(view.indent + a);
    if (!drop.has(i)) out.push(lines[i]!);
  }
  return out.join('\n');
}

/** Human instructions for an operator who owns the file (management `external`). */
export function describeChange(host: string, path: string, backend: string, change: ServerChange): string[] {
  return [
    ...change.remove.map((l) => `on ${host}, in ${path}, backend ${backend}: remove the line "${l}"`),
    ...change.add.map((l) => `on ${host}, in ${path}, backend ${backend}: add the line "${l}"`),
  ];
}

/** The `server-state-file` and `stats socket` paths of the global section, if set. */
export function globalPaths(text: string): { stateFile?: string; socket?: string } {
  const out: { stateFile?: string; socket?: string } = {};
  let inGlobal = false;
  for (const raw of text.split('\n')) {
    if (SECTION.test(raw)) {
      inGlobal = raw.trim() === 'global';
      continue;
    }
    if (!inGlobal) continue;
    const w = raw.trim().split(/\s+/);
    if (w[0] === 'server-state-file' && w[1]) out.stateFile = w[1];
    if (w[0] === 'stats' && w[1] === 'socket' && w[2]) out.socket = w[2];
  }
  return out;
}
