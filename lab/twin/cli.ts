// `cookbook lab snapshot --cluster-name C [--out FILE]`: the read-only capture of a cluster (lib/twin) written
// to a 0600 file, for `cookbook lab up --from-snapshot FILE` and --simulate. The cluster comes from the
// inventory as for any cookbook (a lab cluster: its running lab); its journals calibrate the timings.
import { existsSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../../lib/core/errors.js';
import { defaultStateDir, packageRoot, unwritableFileReason } from '../../lib/core/paths.js';
import type { ClusterSnapshot } from '../../lib/twin/types.js';

/** Where `lab snapshot` writes (tests capture it). */
export interface SnapshotIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Arguments of `lab snapshot`. */
export interface SnapshotArgs {
  clusterName?: string;
  out?: string;
  /** The runs' state directory (their journals calibrate the timings). */
  stateDir?: string;
  inventory?: string[];
  skipHosts?: boolean;
  json: boolean;
}

/** The default file name: `<cluster>-snapshot-<UTC time>.json` in the current directory. */
export function defaultSnapshotFile(cluster: string, now = new Date()): string {
  return `${cluster}-snapshot-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.json`;
}

/** Validates the arguments before anything is read (exit 2 on bad input). */
export function checkSnapshotArgs(a: SnapshotArgs): { clusterName: string; out: string } {
  if (!a.clusterName) throw new InputError('lab snapshot: name the cluster with --cluster-name', { hint: 'cookbook lab snapshot --cluster-name NAME [--out FILE]' });
  const out = resolve(a.out ?? defaultSnapshotFile(a.clusterName));
  const why = existsSync(dirname(out)) ? unwritableFileReason(out) : `the directory ${dirname(out)} does not exist`;
  if (why) throw new InputError(`lab snapshot: --out ${out}: ${why}`, { context: { file: out }, hint: 'pass --out with a file in a writable directory' });
  return { clusterName: a.clusterName, out };
}

/** One line per fact of a snapshot, for the operator. */
export function describeSnapshot(s: ClusterSnapshot, file: string, written: { bytes: number; gzip: boolean }): string {
  const unreachable = s.hosts.filter((h) => !h.reachable).length;
  const objects = s.namespaces.reduce((n, ns) => n + Object.values(ns.counts).reduce((a, b) => a + b, 0), 0);
  const lines = [
    `snapshot of ${s.cluster.name} (Kubernetes ${s.cluster.kubernetesVersion}) in ${(s.capture.durationMs / 1000).toFixed(1)} s: read-only, ${s.capture.requests.k8s} Kubernetes, ${s.capture.requests.openstack} OpenStack and ${s.capture.requests.ssh} SSH requests`,
    `  ${s.nodes.length} nodes, ${s.hosts.length} hosts${unreachable ? ` (${unreachable} unreachable)` : ''}, ${s.openstack.servers.length} servers${s.openstack.error ? ` (OpenStack: ${s.openstack.error})` : ''}`,
    `  ${s.workloads.length} workloads, ${s.pods.length} pods, ${s.pdbs.length} PodDisruptionBudgets, ${s.namespaces.length} namespaces holding ${objects} objects of ${s.kinds.length} kinds`,
    ...(s.components?.length
      ? [
          `  ${s.components.length} deployed components (${s.components.map((c) => c.component).join(', ')}): ${s.components.reduce((n, c) => n + c.releases.length, 0)} release records without their values, ${s.components.reduce((n, c) => n + c.members.length, 0)} live members; ${new Set(s.components.flatMap((c) => c.maskedSecrets)).size} Secrets with placeholder values (contents never captured)`,
        ]
      : []),
    `  timings: ${Object.entries(s.timings)
      .map(([k, t]) => `${k} ${t.seconds} s (${t.source === 'journal' ? `median of ${t.samples}` : 'default'})`)
      .join(', ')}`,
    `  written to ${file} (mode 0600, ${written.bytes} bytes${written.gzip ? ', gzip' : ''}); start its twin with: cookbook lab up --from-snapshot ${file}`,
  ];
  return lines.join('\n') + '\n';
}

/** Runs `lab snapshot`; returns the exit code (errors are thrown for labMain to report). */
export async function snapshotMain(a: SnapshotArgs, io: SnapshotIO): Promise<number> {
  const { clusterName, out: asked } = checkSnapshotArgs(a);
  let out = asked;
  const { resolveCluster } = await import('../../lib/runner/clients.js');
  const inventory = a.inventory?.length ? a.inventory : [join(packageRoot(), 'inventory'), ...(process.env.COOKBOOK_INVENTORY ?? '').split(':').filter((d) => d.trim())];
  const cluster = await resolveCluster(clusterName, { inventory }, (m) => io.stderr(m + '\n'));
  const { standaloneSnapshotContext } = await import('../../lib/twin/context.js');
  const { takeSnapshot } = await import('../../lib/twin/snapshot.js');
  const { writeSnapshotFile } = await import('../../lib/twin/file.js');
  const ctx = standaloneSnapshotContext(cluster, { stateDir: a.stateDir ?? defaultStateDir(), log: { debug() {}, info() {}, warn: (m) => io.stderr(`warning: ${m}\n`), error: (m) => io.stderr(`${m}\n`) } });
  let snapshot: ClusterSnapshot;
  try {
    snapshot = await takeSnapshot(ctx, { skipHosts: a.skipHosts });
  } finally {
    await ctx.close();
  }
  const written = writeSnapshotFile(out, snapshot);
  // A default name says what the file holds: a compressed snapshot ends in .gz.
  if (written.gzip && a.out === undefined && !out.endsWith('.gz')) {
    renameSync(out, `${out}.gz`);
    out = `${out}.gz`;
  }
  if (a.json) {
    io.stdout(
      JSON.stringify({
        file: out,
        ...written,
        cluster: snapshot.cluster.name,
        nodes: snapshot.nodes.length,
        hosts: snapshot.hosts.length,
        pods: snapshot.pods.length,
        workloads: snapshot.workloads.length,
        components: (snapshot.components ?? []).map((c) => ({ component: c.component, namespace: c.namespace, revisions: c.releases.length, members: c.members.length, maskedSecrets: c.maskedSecrets })),
        pdbs: snapshot.pdbs.length,
        namespaces: snapshot.namespaces.length,
        capture: snapshot.capture,
        timings: snapshot.timings,
      }) + '\n',
    );
  } else io.stdout(describeSnapshot(snapshot, out, written));
  return 0;
}
