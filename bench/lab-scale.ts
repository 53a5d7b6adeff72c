// Does the lab's Kubernetes API hold the model user's scale (60 nodes, 3,500 namespaces, 4,000 Kyverno-style
// policies, 10,000 pods) in well under 1 GiB, and answer a paged list of everything without stalling?
// Prints progress, then as its LAST line one JSON object:
// {"bench":"lab-scale","rss_mb":..,"create_s":..,"list_all_pods_s":..,"list_node_pods_ms":..}
import { World } from '../lab/world.js';
import { startKubeApi } from '../lab/k8s/index.js';
import { clientsFor, listAllPods, populate, scaleNodeName } from '../lab/k8s/scale.js';

const spec = { nodes: 60, namespaces: 3500, policies: 4000, pods: 10000, concurrency: 32 };

async function main(): Promise<void> {
  const world = new World({ clusterName: 'scale', prefix: 'scale', roles: {}, speed: 50, seed: 1 });
  const api = await startKubeApi(world, { watchHistory: 5000 });
  try {
    const t0 = performance.now();
    await populate(api, spec);
    const createS = (performance.now() - t0) / 1000;
    const { core } = clientsFor(api);
    // Let the scheduler and kubelets finish binding and starting what was created.
    const pods = api.api.res('', 'pods');
    for (let i = 0; i < 600; i++) {
      let pending = 0;
      for (const p of api.store.scan(pods)) if (!p.spec?.nodeName || p.status?.phase !== 'Running') pending++;
      if (pending === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    global.gc?.();
    const rssMb = process.memoryUsage().rss / 1024 / 1024;
    const t1 = performance.now();
    const n = await listAllPods(core, 500);
    const listS = (performance.now() - t1) / 1000;
    if (n !== spec.pods) throw new Error(`paged list returned ${n} pods, expected ${spec.pods}`);
    const t2 = performance.now();
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${scaleNodeName(7)}` });
    const nodeMs = performance.now() - t2;
    console.log(`created ${spec.nodes} nodes, ${spec.namespaces} namespaces, ${spec.policies} policies, ${spec.pods} pods in ${createS.toFixed(1)} s`);
    console.log(`paged list of ${n} pods: ${listS.toFixed(2)} s; node ${scaleNodeName(7)} has ${onNode.items.length} pods (${nodeMs.toFixed(1)} ms); requests ${world.counters.requests.k8s}`);
    console.log(JSON.stringify({ bench: 'lab-scale', rss_mb: Math.round(rssMb), create_s: Number(createS.toFixed(2)), list_all_pods_s: Number(listS.toFixed(3)), list_node_pods_ms: Number(nodeMs.toFixed(1)) }));
  } finally {
    await api.stop();
    world.shutdown();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
