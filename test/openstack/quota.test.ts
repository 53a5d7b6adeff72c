// lib/openstack/quota.ts: the headroom read two ways from the lab's Nova (the quota set with usage, and the
// absolute limits the openstack CLI prints) must agree; the pure helpers table-driven, one it per row.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lib/core/clock.js';
import { Gate } from '../../lib/core/gate.js';
import { MemoryLog } from '../../lib/core/log.js';
import { loadClusterFile } from '../../lib/inventory/load.js';
import { type LabHandle, startLab } from '../../lab/index.js';
import { type Flavor, type Image, type QuotaRow, type Server, create, headroomFromLimits, headroomFromQuotas, quotaLeft, serverGroupRoom, serverSpec } from '../../lib/openstack/index.js';

describe('openstack quota headroom against the lab', function () {
  this.timeout(60_000);
  let lab: LabHandle;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-quota-'));
    lab = await startLab({ stateDir: join(dir, 'lab'), speed: 20, seedWorkload: false, control: 1, workers: 2, workersNfs: 0, ingress: 0, etcd: 0 });
  });
  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the quota set and the absolute limits give the same headroom, with the lab VMs in use', async () => {
    lab.openstack.cloud.quotas.instances = 7;
    lab.openstack.cloud.quotas.server_group_members = 10;
    const client = await create({ cluster: loadClusterFile(join(lab.stateDir, 'inventory.yaml')), gate: new Gate({ dryRun: true }), log: new MemoryLog(), signal: new AbortController().signal, clock: systemClock, stateDir: dir });
    const fromQuotas = headroomFromQuotas(await client.getQuotas());
    const fromLimits = headroomFromLimits(await client.getLimits());
    assert.deepEqual(fromLimits, fromQuotas);
    assert.deepEqual(fromQuotas.instances, { limit: 7, inUse: 3 });
    assert.equal(fromQuotas.serverGroupMembers, 10);
    assert.equal(quotaLeft(fromQuotas.instances), 4);
  });
});

describe('openstack quota helpers', () => {
  const left: [string, QuotaRow, number][] = [
    ['room left', { limit: 10, inUse: 7 }, 3],
    ['unlimited', { limit: -1, inUse: 500 }, Infinity],
    ['over the limit (lowered below use) counts as none', { limit: 5, inUse: 8 }, 0],
  ];
  for (const [title, row, want] of left) it(`quotaLeft: ${title}`, () => assert.equal(quotaLeft(row), want));

  const group = { id: 'g', name: 'k8s-worker', policy: 'anti-affinity', members: ['a', 'b', 'c'] };
  const room: [string, Parameters<typeof serverGroupRoom>, number][] = [
    ['a group with 3 of 5 members', [group, 5], 2],
    ['an unlimited member quota', [group, -1], Infinity],
    ['a group not created yet', [undefined, 4], 4],
  ];
  for (const [title, args, want] of room) it(`serverGroupRoom: ${title}`, () => assert.equal(serverGroupRoom(...args), want));

  const images: Image[] = [{ id: 'i-12', name: 'debian-12', status: 'active' }];
  const flavors: Flavor[] = [{ id: 'f-m', name: 'g4.medium', vcpus: 4, ram: 8192, disk: 40 }];
  const server = (over: Partial<Server>): Server => ({ id: 's', name: 'w-1', status: 'ACTIVE', addresses: {}, flavor: { id: 'f-m' }, image: { id: 'i-12' }, metadata: {}, created: '', updated: '', ...over });
  const specs: [string, Server, ReturnType<typeof serverSpec>][] = [
    ['microversion 2.1: flavor by id', server({}), { image: 'debian-12', flavor: 'g4.medium', vcpus: 4, ram: 8192 }],
    ['microversion 2.47: the flavor embedded', server({ flavor: { original_name: 'g4.large', vcpus: 8, ram: 16384 } }), { image: 'debian-12', flavor: 'g4.large', vcpus: 8, ram: 16384 }],
    ['booted from a volume, flavor deleted since', server({ image: '', flavor: { id: 'gone' } }), { image: undefined, flavor: undefined, vcpus: 0, ram: 0 }],
  ];
  for (const [title, s, want] of specs) it(`serverSpec: ${title}`, () => assert.deepEqual(serverSpec(s, images, flavors), want));
});
