// The lab at the scale of the per-tool component: 3,500 tool namespaces with one server-side applied Policy
// each, plus a 200-object component, over HTTPS with 8 requests in flight (as the deploy engine sends them):
// everything stored, listed by ApplySet label across namespaces page by page, and an unchanged re-apply
// writes nothing (no resourceVersion used). bench/deploy.ts measures the same with kubectl and the engine.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { makeWorld, startLab, type Lab } from './helpers.js';

const TOOLS = 3500;
const PART_OF = 'applyset.kubernetes.io/part-of';

describe('lab k8s: server-side apply at 3,500 namespaces', function () {
  this.timeout(120_000);
  let lab: Lab;
  let agent: Agent;

  /** One request over a keep-alive connection; resolves with status and body. */
  function call(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; body: string }> {
    const u = new URL(lab.api.url + path);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${lab.api.token}` };
      if (contentType) headers['content-type'] = contentType;
      const req = request({ agent, method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The 3,700 objects: one Policy per tool namespace, 200 ConfigMaps in the component's namespace. */
  function objects(action: string): { path: string; body: string }[] {
    const out: { path: string; body: string }[] = [];
    for (let i = 1; i <= TOOLS; i++) {
      const ns = `tool-${String(i).padStart(4, '0')}`;
      const body = { apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'tool-defaults', namespace: ns, labels: { [PART_OF]: 'applyset-tools-v1' } }, spec: { validationFailureAction: action, rules: [{ name: 'non-root', match: { any: [{ resources: { kinds: ['Pod'] } }] } }] } };
      out.push({ path: `/apis/kyverno.io/v1/namespaces/${ns}/policies/tool-defaults`, body: JSON.stringify(body) });
    }
    for (let i = 1; i <= 200; i++) {
      const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `config-${i}`, namespace: 'app', labels: { [PART_OF]: 'applyset-app-v1' } }, data: { n: String(i) } };
      out.push({ path: `/api/v1/namespaces/app/configmaps/config-${i}`, body: JSON.stringify(body) });
    }
    return out;
  }

  /** Applies every object with `width` requests in flight; returns the seconds taken. */
  async function applyAll(list: { path: string; body: string }[], width = 8): Promise<number> {
    const queue = [...list];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: width }, async () => {
        for (let o = queue.shift(); o; o = queue.shift()) {
          const r = await call('PATCH', `${o.path}?fieldManager=cookbook-component`, o.body, 'application/apply-patch+yaml');
          if (r.status >= 300) throw new Error(`${o.path}: ${r.status} ${r.body}`);
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  }

  before(async () => {
    lab = await startLab(makeWorld(200, { control: 1, worker: 1, worker_nfs: 0, ingress: 0, etcd: 0 }));
    agent = new Agent({ keepAlive: true, maxSockets: 8, ca: lab.api.caPem });
    const nsSpec = lab.api.api.res('', 'namespaces');
    for (const ns of ['app', ...Array.from({ length: TOOLS }, (_, i) => `tool-${String(i + 1).padStart(4, '0')}`)]) {
      lab.api.api.create(nsSpec, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, { internal: true });
    }
  });
  after(async () => {
    agent?.destroy();
    await lab?.stop();
  });

  it('applies 3,700 objects, lists them by ApplySet label page by page, and writes nothing on an unchanged re-apply', async () => {
    const first = await applyAll(objects('Audit'));
    // Generous: ~2 ms each on a quiet machine; the bound catches a lab path gone quadratic, not noise.
    assert.ok(first < 60, `first apply took ${first.toFixed(1)} s`);
    assert.equal(lab.api.store.count(lab.api.api.res('kyverno.io', 'policies')), TOOLS);
    const peak = lab.world.counters.k8s_peak_inflight;
    assert.ok(peak >= 2 && peak <= 8, `requests overlapped, never more than the client's 8 (peak ${peak})`);

    const names: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const r = await call('GET', `/apis/kyverno.io/v1/policies?limit=500&labelSelector=${encodeURIComponent(`${PART_OF}=applyset-tools-v1`)}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      assert.equal(r.status, 200, r.body);
      const page = JSON.parse(r.body) as { items: { metadata: { namespace: string } }[]; metadata: { continue?: string } };
      for (const item of page.items) names.push(item.metadata.namespace);
      cont = page.metadata.continue ?? '';
      pages++;
    } while (cont);
    assert.equal(pages, 7);
    assert.equal(new Set(names).size, TOOLS);

    const rv = lab.api.store.currentRv();
    const again = await applyAll(objects('Audit'));
    assert.equal(lab.api.store.currentRv(), rv, 'an unchanged server-side apply stores nothing');
    assert.ok(again < 60, `unchanged re-apply took ${again.toFixed(1)} s`);
  });
});
