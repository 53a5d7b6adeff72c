// Running cookbooks against a test lab through the real CLI, and checking the result with real clients
// (kubectl, the openstack CLI) rather than only our own.
import { join } from 'node:path';
import { $ } from 'zx';
import { type CliOptions, type CliResult, runCli, startCli, tempDir } from './cli.js';
import type { TestLab } from './lab.js';

/** Runs `cookbook NAME --cluster-name LAB ...ARGS` against the lab with its own state dir. */
export function labRunner(lab: TestLab, stateDir = tempDir('cc-state-')) {
  const base = (name: string, args: string[]): string[] => [name, '--cluster-name', lab.info.clusterName, '--inventory', lab.stateDir, '--state-dir', stateDir, ...args];
  return {
    stateDir,
    run: (name: string, args: string[] = [], options: CliOptions = {}): Promise<CliResult> => runCli(base(name, args), options),
    start: (name: string, args: string[] = [], options: CliOptions = {}) => startCli(base(name, args), options),
    json: async (name: string, args: string[] = [], options: CliOptions = {}): Promise<CliResult & { out: Record<string, any> }> => {
      const r = await runCli(base(name, [...args, '--json']), options);
      let out: Record<string, any> = {};
      try {
        out = JSON.parse(r.stdout) as Record<string, any>;
      } catch {
        // Left empty: the assertions on the exit code tell the story (stderr is in r).
      }
      return { ...r, out };
    },
  };
}

/** Runs the real kubectl against the lab (fresh cache dir each call) and parses -o json output. */
export async function kubectlJson(lab: TestLab, args: string[]): Promise<any> {
  const cache = tempDir('kcache-');
  const r = await $({ quiet: true, nothrow: true })`kubectl --kubeconfig ${lab.kubeconfig} --cache-dir ${cache} ${args} -o json`;
  if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Runs the real kubectl against the lab and returns its result. */
export async function kubectl(lab: TestLab, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  const cache = tempDir('kcache-');
  const r = await $({ quiet: true, nothrow: true, timeout: timeoutMs })`kubectl --kubeconfig ${lab.kubeconfig} --cache-dir ${cache} ${args}`;
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `openstack server list` through the real openstack CLI (slow: ~1.2 s a call). */
export async function openstackServers(lab: TestLab): Promise<{ Name: string; Status: string }[]> {
  const r = await $({ quiet: true, nothrow: true, env: { ...process.env, OS_CLIENT_CONFIG_FILE: join(lab.stateDir, 'clouds.yaml') } })`openstack --os-cloud ${lab.info.clusterName} server list -f json`;
  if (r.exitCode !== 0) throw new Error(`openstack server list failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { Name: string; Status: string }[];
}

/** Node names (kubectl) of the lab. */
export async function nodeNames(lab: TestLab): Promise<string[]> {
  const list = await kubectlJson(lab, ['get', 'nodes']);
  return (list.items as { metadata: { name: string } }[]).map((n) => n.metadata.name).sort();
}

/** Server names (lab cloud state) of the lab. */
export function serverNames(lab: TestLab): string[] {
  return [...lab.world.hosts.values()].map((h) => h.name).sort();
}

/** Nodes that are cordoned (kubectl). */
export async function cordonedNodes(lab: TestLab): Promise<string[]> {
  const list = await kubectlJson(lab, ['get', 'nodes']);
  return (list.items as { metadata: { name: string }; spec: { unschedulable?: boolean } }[]).filter((n) => n.spec.unschedulable).map((n) => n.metadata.name);
}
