// Validation of host names, addresses, resolver answers and jump host specs: one table per function, one `it`
// per row. Bad input is an InputError before anything connects.
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { type JumpHostSpec, isDnsName, knownHostsName, parseJumpHost, validatePort, validateResolved, validateTarget } from '../../lib/remote/address.js';

describe('remote/address: validateTarget', () => {
  const ok: [string, 'name' | 'address'][] = [
    ['tb-k8s-worker-1', 'name'],
    ['127.0.1.7', 'address'],
    ['::1', 'address'],
    ['2001:db8::1', 'address'],
  ];
  for (const [host, kind] of ok) it(`${host} → ${kind}`, () => assert.deepEqual(validateTarget(host), { kind, host }));
  // Anything that could smuggle an option or shell text into a command, or is no single DNS label.
  const bad = ['', '-oProxyCommand=x', 'a b', 'host;rm', 'UPPER', 'a.b', 'x'.repeat(64), '999.1.1.1', 'h\n', '$(id)'];
  for (const host of bad) it(`${JSON.stringify(host)} → InputError`, () => assert.throws(() => validateTarget(host), InputError));
});

describe('remote/address: isDnsName', () => {
  const rows: [string, boolean][] = [
    ['h1.tools.example.org', true],
    ['Bastion.Example.org', true],
    ['h1', true],
    ['a..b', false],
    ['-a.example.org', false],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`, false],
  ];
  for (const [name, want] of rows) it(`${name.length > 40 ? `${name.length} characters` : name} → ${want}`, () => assert.equal(isDnsName(name), want));
});

describe('remote/address: validatePort', () => {
  const rows: [unknown, number | undefined][] = [
    [22, 22],
    [65535, 65535],
    [0, undefined],
    [70000, undefined],
    [22.5, undefined],
    ['22', undefined],
  ];
  for (const [port, want] of rows) {
    it(`${JSON.stringify(port)} → ${want ?? 'InputError'}`, () => {
      if (want === undefined) assert.throws(() => validatePort(port), InputError);
      else assert.equal(validatePort(port), want);
    });
  }
});

describe('remote/address: validateResolved', () => {
  const rows: [string, { address: string; port: number }, string | undefined][] = [
    ['an IPv4 address', { address: '10.0.0.1', port: 22 }, '10.0.0.1'],
    ['a DNS name and another port', { address: 'h1.tools.example.org', port: 2222 }, 'h1.tools.example.org'],
    ['an option-like address', { address: '-oFoo', port: 22 }, undefined],
    ['port 0', { address: '10.0.0.1', port: 0 }, undefined],
    ['port 70000', { address: '10.0.0.1', port: 70000 }, undefined],
  ];
  for (const [title, answer, want] of rows) {
    it(`${title} → ${want ?? 'InputError'}`, () => {
      if (want === undefined) assert.throws(() => validateResolved('h1', answer), InputError);
      else assert.deepEqual(validateResolved('h1', answer), { host: 'h1', address: want, port: answer.port });
    });
  }
});

describe('remote/address: parseJumpHost', () => {
  const ok: [string, JumpHostSpec][] = [
    ['bastion.example.org', { host: 'bastion.example.org' }],
    ['ops@bastion.example.org', { user: 'ops', host: 'bastion.example.org' }],
    ['ops@203.0.113.7:2222', { user: 'ops', host: '203.0.113.7', port: 2222 }],
    ['[2001:db8::1]:22', { host: '2001:db8::1', port: 22 }],
  ];
  for (const [spec, want] of ok) it(`${spec} → ${JSON.stringify(want)}`, () => assert.deepEqual(parseJumpHost(spec), want));
  const bad = ['', 'a,b', 'ops@', '@host', 'Ops Man@h', 'h:0', 'h:99999', 'h:x', '-oProxyCommand=sh', 'h;id', '[bastion]:22', '[10.0.0.1]:22'];
  for (const spec of bad) it(`${JSON.stringify(spec)} → InputError`, () => assert.throws(() => parseJumpHost(spec), InputError));
});

describe('remote/address: knownHostsName', () => {
  const rows: [string, number, string][] = [
    ['h1', 22, 'h1'],
    ['127.0.1.7', 2222, '[127.0.1.7]:2222'],
  ];
  for (const [name, port, want] of rows) it(`${name}:${port} → ${want}`, () => assert.equal(knownHostsName(name, port), want));
});
