// A client of the Kubernetes API through the lab's load balancer, as an operator's tooling would be: requests
// one after the other (a fresh connection each, as kubectl run in a loop makes them: nothing pins a connection
// to one API server), alternating GET /readyz and a list, each with a 2 s timeout. It counts failures and the
// worst latency, so a test can show that a control-plane change went unnoticed by API clients.
import { type RequestOptions, request } from 'node:https';
import { kubeFromFile } from '../../../lib/k8s/index.js';
import { Gate } from '../../../lib/core/gate.js';
import { MemoryLog } from '../../../lib/core/log.js';

/** What a client loop saw. */
export interface LoopReport {
  requests: number;
  failures: number;
  worstMs: number;
  /** The first few failures (status or error), for the assertion message. */
  errors: string[];
  /** The API server URL the loop talked to (the load balancer). */
  server: string;
}

/** A running client loop; stop() ends it and returns what it saw. */
export interface ClientLoop {
  stop(): Promise<LoopReport>;
  /** Requests so far (a test can wait until the loop is under way). */
  requests(): number;
}

const PATHS = ['/readyz', '/api/v1/namespaces/kube-system/pods?limit=5'];

/** Starts `parallel` request loops against the kubeconfig's server. */
export async function startClientLoop(kubeconfig: string, o: { timeoutMs?: number; parallel?: number } = {}): Promise<ClientLoop> {
  const kube = kubeFromFile(kubeconfig, { gate: new Gate({ dryRun: false }), log: new MemoryLog() });
  const kc = kube.kubeConfig;
  const server = kc.getCurrentCluster()!.server;
  const timeoutMs = o.timeoutMs ?? 2000;
  const base: RequestOptions = { method: 'GET', headers: {} };
  await kc.applyToHTTPSOptions(base);
  const report: LoopReport = { requests: 0, failures: 0, worstMs: 0, errors: [], server };
  let running = true;
  const one = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      const done = (error?: string): void => {
        const ms = performance.now() - started;
        report.requests++;
        report.worstMs = Math.max(report.worstMs, ms);
        if (error) {
          report.failures++;
          if (report.errors.length < 5) report.errors.push(`${path}: ${error} after ${Math.round(ms)} ms`);
        }
        resolve();
      };
      // agent: false: a fresh connection per request, as separate kubectl invocations make them.
      const req = request(new URL(path, server), { ...base, agent: false, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
        res.on('error', (e) => done(e.message));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => done(e.message));
      req.end();
    });
  const loops = Array.from({ length: o.parallel ?? 2 }, async (_, i) => {
    for (let n = i; running; n++) {
      await one(PATHS[n % PATHS.length]!);
      // Pacing, not a wait: the lab serves these from the test's own process.
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    requests: () => report.requests,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await kube.close();
      return report;
    },
  };
}
