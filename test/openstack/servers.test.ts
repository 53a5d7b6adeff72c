// Servers without duplicates or guesses, the pure parts: the body of a create, what one poll of a waited-for
// server means, and which existing server group may be reused. One table per function, one `it` per row.
// (The create protocol after lost answers runs against the lab in lost-answer.test.ts and transient.test.ts.)
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { planned } from '../../lib/core/gate.js';
import { OpenStackPolicyMismatchError, OpenStackServerFaultError } from '../../lib/openstack/errors.js';
import { type CreateServerSpec, type ResolvedServerRefs, createServerRequest, reusableServerGroup, serverWaitStep } from '../../lib/openstack/servers.js';
import type { Server, ServerGroup, ServerGroupPolicy, ServerStatus } from '../../lib/openstack/types.js';

const refs: ResolvedServerRefs = {
  flavor: { id: 'f1', name: 'g4.cores8' } as ResolvedServerRefs['flavor'],
  image: { id: 'i1', name: 'debian-12' } as ResolvedServerRefs['image'],
  networks: [{ id: 'n1', name: 'lan' } as ResolvedServerRefs['networks'][number]],
  securityGroups: [],
};
const spec = (extra: Partial<CreateServerSpec> = {}): CreateServerSpec => ({ name: 'tb-k8s-worker-9', flavor: 'g4.cores8', image: 'debian-12', network: 'lan', ...extra });

describe('openstack servers: createServerRequest', () => {
  const base = { name: 'tb-k8s-worker-9', flavorRef: 'f1', imageRef: 'i1', networks: [{ uuid: 'n1' }] };
  const group = { id: 'g1', name: 'tb-k8s-worker', policy: 'anti-affinity', members: [] } as ServerGroup;
  const rows: [string, CreateServerSpec, Partial<ResolvedServerRefs>, Record<string, unknown>, Record<string, unknown>][] = [
    ['the minimum', spec(), {}, { server: base }, { serverGroup: undefined }],
    [
      'security groups by name, metadata, user data, key, zone',
      spec({ metadata: { cluster: 'tb' }, userData: '#cloud-config\n', keyName: 'ops', availabilityZone: 'az1' }),
      { securityGroups: [{ id: 's1', name: 'k8s' } as ResolvedServerRefs['securityGroups'][number]] },
      { server: { ...base, security_groups: [{ name: 'k8s' }], metadata: { cluster: 'tb' }, user_data: Buffer.from('#cloud-config\n').toString('base64'), key_name: 'ops', availability_zone: 'az1' } },
      {},
    ],
    ['empty metadata is left out', spec({ metadata: {} }), {}, { server: base }, {}],
    ['a server group: the scheduler hint', spec({ serverGroup: 'tb-k8s-worker' }), { group }, { server: base, 'os:scheduler_hints': { group: 'g1' } }, { serverGroup: 'tb-k8s-worker' }],
    [
      'a planned server group (dry-run): no hint, said in the detail',
      spec({ serverGroup: planned({ target: 'server-group/g', action: 'create server group', planned: true, system: 'openstack', at: '2026-11-30T10:00:00.000Z' }) }),
      {},
      { server: base },
      { serverGroup: 'planned' },
    ],
  ];
  for (const [title, s, extra, body, detail] of rows) {
    it(title, () => {
      const r = createServerRequest(s, { ...refs, ...extra });
      assert.deepEqual(r.body, body);
      assert.deepEqual(r.detail, { flavor: 'g4.cores8', image: 'debian-12', networks: ['lan'], serverGroup: undefined, ...detail });
    });
  }
});

describe('openstack servers: serverWaitStep', () => {
  const at = (status: ServerStatus, fault?: string): Server => ({ id: 'id-1', name: 'web-1', status, ...(fault ? { fault: { message: fault } } : {}) }) as Server;
  const rows: [string, Server | undefined, ServerStatus[], 'done' | 'gone' | 'again' | RegExp][] = [
    ['reached the wanted status', at('ACTIVE'), ['ACTIVE'], 'done'],
    ['one of several wanted', at('SHUTOFF'), ['ACTIVE', 'SHUTOFF'], 'done'],
    ['still building', at('BUILD'), ['ACTIVE'], 'again'],
    ['ERROR: fails at once with the fault', at('ERROR', 'No valid host was found'), ['ACTIVE'], /went to ERROR: No valid host was found/],
    ['ERROR without a fault message', at('ERROR'), ['ACTIVE'], /went to ERROR: no fault message/],
    ['ERROR while waiting for a delete: wait on', at('ERROR'), ['DELETED'], 'again'],
    ['gone while waiting for a delete: done', undefined, ['DELETED'], 'gone'],
    ['gone while waiting for ACTIVE', undefined, ['ACTIVE'], /disappeared while waiting for ACTIVE/],
  ];
  for (const [title, current, wanted, want] of rows) {
    it(`${title} → ${want instanceof RegExp ? 'OpenStackServerFaultError' : want}`, () => {
      const cause = new Error('404');
      const step = serverWaitStep(current, new Set(wanted), { id: 'id-1', name: 'web-1', goneBecause: current ? undefined : cause });
      if (want instanceof RegExp) {
        assert.ok(step instanceof OpenStackServerFaultError);
        assert.match(step.message, want);
        assert.equal(step.context.server, 'id-1');
        if (!current) assert.equal(step.cause, cause);
      } else if (want === 'again') assert.equal(step, false);
      else assert.deepEqual(step, { server: want === 'done' ? current : undefined });
    });
  }
});

describe('openstack servers: reusableServerGroup', () => {
  const existing = (policy: string): ServerGroup => ({ id: 'g1', name: 'grp', policy, members: ['a', 'b'] }) as ServerGroup;
  const rows: [string, ServerGroup | undefined, string, 'reuse' | 'create' | typeof InputError | typeof OpenStackPolicyMismatchError][] = [
    ['none yet: create it', undefined, 'anti-affinity', 'create'],
    ['same policy: reuse it', existing('soft-anti-affinity'), 'soft-anti-affinity', 'reuse'],
    ['another policy: refused', existing('affinity'), 'anti-affinity', OpenStackPolicyMismatchError],
    ['a policy Nova does not know', undefined, 'spread', InputError],
  ];
  for (const [title, group, policy, want] of rows) {
    it(`${title}`, () => {
      const call = (): ServerGroup | undefined => reusableServerGroup(group, 'grp', policy as ServerGroupPolicy);
      if (want === 'create') return assert.equal(call(), undefined);
      if (want === 'reuse') return assert.equal(call(), group);
      assert.throws(call, (err: unknown) => err instanceof want && (want !== OpenStackPolicyMismatchError || /exists with policy affinity, not anti-affinity/.test((err as Error).message)));
    });
  }
});
