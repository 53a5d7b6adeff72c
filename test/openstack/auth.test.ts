// Keystone v3, the pure parts: the token request body of each kind of credential, and which catalog endpoint a
// service call goes to. One table per function, one `it` per row. (Token lifetime, re-authentication and a
// revoked token run against the lab in client.test.ts.)
import assert from 'node:assert/strict';
import { type CatalogService, selectEndpoint, tokenRequestBody } from '../../lib/openstack/auth.js';
import type { CloudConfig } from '../../lib/openstack/config.js';
import { OpenStackConfigError } from '../../lib/openstack/errors.js';

const cfg = (extra: Partial<CloudConfig>): CloudConfig => ({ cloud: 'c', source: 'test', authType: 'password', authUrl: 'http://k/v3', interface: 'public', ...extra });

describe('openstack auth: tokenRequestBody', () => {
  const rows: [string, CloudConfig, Record<string, unknown>][] = [
    [
      'password, names, default domains',
      cfg({ username: 'novaadmin', password: 'pw', projectName: 'tools' }),
      { auth: { identity: { methods: ['password'], password: { user: { name: 'novaadmin', password: 'pw', domain: { name: 'Default' } } } }, scope: { project: { name: 'tools', domain: { name: 'Default' } } } } },
    ],
    [
      'password, domain ids',
      cfg({ username: 'u', password: 'pw', userDomainId: 'ud', projectName: 'p', projectDomainId: 'pd' }),
      { auth: { identity: { methods: ['password'], password: { user: { name: 'u', password: 'pw', domain: { id: 'ud' } } } }, scope: { project: { name: 'p', domain: { id: 'pd' } } } } },
    ],
    [
      'password, user and project ids (no domains needed)',
      cfg({ userId: 'uid', password: 'pw', projectId: 'pid', userDomainName: 'ignored' }),
      { auth: { identity: { methods: ['password'], password: { user: { id: 'uid', password: 'pw' } } }, scope: { project: { id: 'pid' } } } },
    ],
    [
      'application credential by id: no scope (it is bound to its project)',
      cfg({ authType: 'application_credential', applicationCredentialId: 'ac', applicationCredentialSecret: 's', projectName: 'ignored' }),
      { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac', secret: 's' } } } },
    ],
    [
      'application credential by name: names its user',
      cfg({ authType: 'application_credential', applicationCredentialName: 'ci', applicationCredentialSecret: 's', username: 'u', userDomainName: 'LDAP' }),
      { auth: { identity: { methods: ['application_credential'], application_credential: { secret: 's', name: 'ci', user: { name: 'u', domain: { name: 'LDAP' } } } } } },
    ],
  ];
  for (const [title, c, want] of rows) it(title, () => assert.deepEqual(tokenRequestBody(c), want));
});

describe('openstack auth: selectEndpoint', () => {
  const catalog: CatalogService[] = [
    {
      type: 'compute',
      endpoints: [
        { interface: 'public', region_id: 'r1', url: 'https://nova.r1/v2.1/' },
        { interface: 'internal', region_id: 'r1', url: 'http://nova-int.r1/v2.1' },
        { interface: 'public', region_id: 'r2', url: 'https://nova.r2/v2.1' },
      ],
    },
    { type: 'image', endpoints: [{ interface: 'public', region: 'r1', url: 'https://glance.r1' }] },
  ];
  const rows: [string, string, 'public' | 'internal' | 'admin', string | undefined, string | RegExp][] = [
    ['by region', 'compute', 'public', 'r2', 'https://nova.r2/v2.1'],
    ['by interface', 'compute', 'internal', 'r1', 'http://nova-int.r1/v2.1'],
    ['trailing slash dropped', 'compute', 'public', 'r1', 'https://nova.r1/v2.1'],
    ['no region given: the first of the interface', 'compute', 'public', undefined, 'https://nova.r1/v2.1'],
    ['old-style `region` field', 'image', 'public', 'r1', 'https://glance.r1'],
    ['a service the cloud lacks', 'network', 'public', 'r1', /no public network endpoint in region r1/],
    ['an interface the service lacks', 'image', 'admin', 'r1', /no admin image endpoint in region r1/],
    ['a region the service lacks', 'compute', 'public', 'r9', /no public compute endpoint in region r9/],
  ];
  for (const [title, type, iface, region, want] of rows) {
    it(`${title} → ${want instanceof RegExp ? 'OpenStackConfigError' : want}`, () => {
      if (typeof want === 'string') return assert.equal(selectEndpoint(catalog, type, iface, region), want);
      assert.throws(
        () => selectEndpoint(catalog, type, iface, region),
        (err: unknown) => err instanceof OpenStackConfigError && want.test(err.message) && /compute\/public\/r2/.test(String(err.context.offered)),
      );
    });
  }
});
