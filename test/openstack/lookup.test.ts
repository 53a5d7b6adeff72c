// Pure helpers of the OpenStack client: one table of inputs → results (or the InputError / typed error a bad
// input gets) per function, one `it` per row.
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { planned } from '../../lib/core/gate.js';
import { OpenStackAmbiguousError, OpenStackExistsError, OpenStackLookupError } from '../../lib/openstack/errors.js';
import {
  checkedMetadata,
  describe as describeServer,
  encodeUserData,
  existsError,
  normaliseGroup,
  pickIPv4,
  pickOne,
  required,
  requireId,
  requireServerName,
} from '../../lib/openstack/lookup.js';
import type { Server } from '../../lib/openstack/types.js';

const server = {
  id: 'id-1',
  name: 'web-1',
  status: 'ACTIVE',
  addresses: {
    lan: [
      { addr: 'fd00::5', version: 6 },
      { addr: '172.16.0.5', version: 4, 'OS-EXT-IPS:type': 'fixed' },
      { addr: '185.15.56.9', version: 4, 'OS-EXT-IPS:type': 'floating' },
    ],
    other: [{ addr: '10.1.0.7', version: 4 }],
  },
} as unknown as Server;

describe('openstack lookup: pickIPv4', () => {
  const rows: [string, Server, Parameters<typeof pickIPv4>[1], string | undefined][] = [
    ['fixed before floating, IPv6 ignored', server, {}, '172.16.0.5'],
    ['floating when asked', server, { type: 'floating' }, '185.15.56.9'],
    ['on a given network (untyped counts as fixed)', server, { network: 'other' }, '10.1.0.7'],
    ['on a network it is not on', server, { network: 'none' }, undefined],
    ['no addresses yet', { ...server, addresses: {} }, {}, undefined],
    ['only IPv6', { ...server, addresses: { lan: [{ addr: 'fd00::5', version: 6 }] } } as unknown as Server, {}, undefined],
  ];
  for (const [title, s, options, want] of rows) it(`${title} → ${want}`, () => assert.equal(pickIPv4(s, options), want));
});

describe('openstack lookup: pickOne', () => {
  const items = [
    { id: 'a1', name: 'small' },
    { id: 'b2', name: 'large' },
    { id: 'c3', name: 'large' },
    { id: 'large', name: 'odd' },
  ];
  const rows: [string, string, string | undefined | RegExp][] = [
    ['by id', 'a1', 'a1'],
    ['by name', 'small', 'a1'],
    ['an id wins over a name', 'large', 'large'],
    ['no such item', 'tiny', undefined],
  ];
  for (const [title, key, want] of rows) it(`${title} → ${String(want)}`, () => assert.equal(pickOne(items, key, 'flavor')?.id, want));
  it('several of one name (without an id match) → OpenStackAmbiguousError naming the ids', () => {
    const twins = items.filter((i) => i.id !== 'large');
    assert.throws(() => pickOne(twins, 'large', 'flavor'), (err: unknown) => err instanceof OpenStackAmbiguousError && /2 flavors are named large: b2, c3/.test(err.message));
  });
});

describe('openstack lookup: required', () => {
  const rows: [string, string | undefined, string[], RegExp | string][] = [
    ['found', 'x', [], 'x'],
    ['missing, names the known ones', undefined, ['m1.small', 'm1.large'], /known flavors: m1\.small, m1\.large/],
    ['missing, nothing known', undefined, [], /check the flavor name in the inventory/],
  ];
  for (const [title, value, names, want] of rows) {
    it(title, async () => {
      const got = await required(value, 'flavor', 'm1.huge', async () => names).catch((e: unknown) => e);
      if (typeof want === 'string') return assert.equal(got, want);
      assert.ok(got instanceof OpenStackLookupError);
      assert.match(got.message, /no flavor named m1\.huge/);
      assert.match(String(got.hint), want);
    });
  }
});

describe('openstack lookup: requireId and requireServerName', () => {
  const ids: [string, boolean][] = [
    ['0f3c8a52-1b7e-4c55-9a3d-2f1e5b6c7d8e', true],
    ['short_id.1', true],
    ['', false],
    ['a/b', false],
    ['x'.repeat(65), false],
  ];
  for (const [id, ok] of ids) it(`id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…` : id)} → ${ok ? 'ok' : 'InputError'}`, () => (ok ? assert.doesNotThrow(() => requireId(id, 'server')) : assert.throws(() => requireId(id, 'server'), InputError)));
  const names: [string, boolean][] = [
    ['tb-k8s-worker-1', true],
    ['web.example', true],
    ['a', true],
    ['-web', false],
    ['web-', false],
    ['web_1', false],
    ['x'.repeat(64), false],
  ];
  for (const [name, ok] of names) it(`name ${JSON.stringify(name.length > 20 ? `${name.length} characters` : name)} → ${ok ? 'ok' : 'InputError'}`, () => (ok ? assert.doesNotThrow(() => requireServerName(name)) : assert.throws(() => requireServerName(name), InputError)));
});

describe('openstack lookup: checkedMetadata and encodeUserData', () => {
  const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v']));
  const metadata: [string, Record<string, string>, boolean][] = [
    ['a few items', { cluster: 'tb', role: 'worker' }, true],
    ['129 items', many, false],
    ['an empty key', { '': 'v' }, false],
    ['a value over 255 characters', { k: 'v'.repeat(256) }, false],
  ];
  for (const [title, m, ok] of metadata) it(`metadata: ${title} → ${ok ? 'kept' : 'InputError'}`, () => (ok ? assert.deepEqual(checkedMetadata(m), m) : assert.throws(() => checkedMetadata(m), InputError)));
  const userData: [string, string | Buffer, boolean][] = [
    ['cloud-config text', '#cloud-config\n', true],
    ['bytes', Buffer.from([0, 1, 2, 255]), true],
    ['over 65535 bytes once encoded', 'x'.repeat(50_000), false],
  ];
  for (const [title, data, ok] of userData) {
    it(`user data: ${title} → ${ok ? 'base64' : 'InputError'}`, () => {
      if (!ok) return assert.throws(() => encodeUserData(data), InputError);
      const raw = typeof data === 'string' ? Buffer.from(data) : data;
      assert.deepEqual(Buffer.from(encodeUserData(data), 'base64'), raw);
    });
  }
});

describe('openstack lookup: normaliseGroup, describe, existsError', () => {
  const groups: [string, Parameters<typeof normaliseGroup>[0], { policy: string; members: string[] }][] = [
    ['microversion 2.64+: policy', { id: 'g', name: 'n', policy: 'anti-affinity', members: ['s1'] }, { policy: 'anti-affinity', members: ['s1'] }],
    ['older: policies list', { id: 'g', name: 'n', policies: ['soft-anti-affinity'] }, { policy: 'soft-anti-affinity', members: [] }],
    ['neither', { id: 'g', name: 'n' }, { policy: 'unknown', members: [] }],
  ];
  for (const [title, raw, want] of groups) it(`group: ${title}`, () => assert.deepEqual((({ policy, members }) => ({ policy, members }))(normaliseGroup(raw)), want));
  const described: [string, Parameters<typeof describeServer>[0], string][] = [
    ['an id', 'id-1', 'id-1'],
    ['a server', server, 'web-1 (id-1)'],
    ['a planned server', planned({ target: 'server/web-9', action: 'create server', planned: true, system: 'openstack', at: '2026-11-30T10:00:00.000Z' }), 'web-9'],
  ];
  for (const [title, s, want] of described) it(`describe: ${title} → ${want}`, () => assert.equal(describeServer(s), want));
  it('existsError names the existing server and how to remove it', () => {
    const err = existsError('web-1', server);
    assert.ok(err instanceof OpenStackExistsError);
    assert.match(err.message, /a server named web-1 exists already \(id-1, ACTIVE\)/);
    assert.match(String(err.hint), /openstack server delete id-1/);
  });
});
