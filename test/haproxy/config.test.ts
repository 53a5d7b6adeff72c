// HAProxy configuration text (pure): the backend's server lines and managed block, the change that lists or
// unlists one server, where the managed block refuses it, and the edited file. One table per function.
import { strict as assert } from 'node:assert';
import { BLOCK_BEGIN, BLOCK_END, applyChange, blockRefusal, describeChange, globalPaths, readBackend, renderServerLine, serverChange, splitAddress } from '../../lib/haproxy/config.js';

// The lab's (and the model user's) shape.
const CFG = [
  'global',
  '    stats socket /run/haproxy/admin.sock mode 660 level admin',
  '    server-state-file /var/lib/haproxy/server-state',
  'defaults',
  '    mode tcp',
  '    load-server-state-from-file global',
  'frontend k8s-api',
  '    bind 127.1.0.10:6443',
  '    default_backend k8s-api',
  'backend k8s-api',
  '    option httpchk GET /readyz',
  '    http-check expect status 200',
  '    default-server check check-ssl verify none inter 500ms fall 2 rise 2',
  `    ${BLOCK_BEGIN}`,
  '    server cp-1 127.1.0.1:6443',
  '    server cp-2 127.1.0.2:6443',
  `    ${BLOCK_END}`,
  'backend other',
  '    server cp-3 127.1.0.9:80',
  '',
].join('\n');

const withBlock = (body: string[]): string => CFG.replace(/ {4}# BEGIN[\s\S]*# END cluster-cookbooks managed block/, body.join('\n'));

describe('haproxy config: splitAddress', () => {
  const rows: [string, ReturnType<typeof splitAddress>][] = [
    ['127.1.0.1:6443', { address: '127.1.0.1', port: 6443 }],
    ['[fd00::1]:6443', { address: 'fd00::1', port: 6443 }],
    ['cp-1.example.org:443', { address: 'cp-1.example.org', port: 443 }],
    ['127.1.0.1', undefined],
    ['127.1.0.1:0', undefined],
    ['127.1.0.1:70000', undefined],
  ];
  for (const [text, want] of rows) it(`${text} → ${JSON.stringify(want)}`, () => assert.deepEqual(splitAddress(text), want));
});

describe('haproxy config: readBackend', () => {
  it('finds the backend, its servers in the managed block, and no server of another backend', () => {
    const v = readBackend(CFG, 'k8s-api');
    assert.equal(v.found, true);
    assert.deepEqual(v.servers.map((s) => [s.name, s.address, s.port, s.managed, s.index]), [['cp-1', '127.1.0.1', 6443, true, 14], ['cp-2', '127.1.0.2', 6443, true, 15]]);
    assert.deepEqual(v.block, { begin: 13, end: 16 });
    assert.equal(v.indent, '    ');
    assert.equal(v.problem, undefined);
  });
  it('a missing backend is not found', () => assert.equal(readBackend(CFG, 'nope').found, false));
  it('server lines outside a block are read but not managed', () => {
    const v = readBackend(withBlock(['    server cp-1 127.1.0.1:6443']), 'k8s-api');
    assert.deepEqual(v.servers.map((s) => [s.name, s.managed]), [['cp-1', false]]);
    assert.equal(v.block, undefined);
  });
  const malformed: [string, string[], RegExp][] = [
    ['BEGIN without END', [`    ${BLOCK_BEGIN}`, '    server cp-1 127.1.0.1:6443'], /has no/],
    ['END without BEGIN', ['    server cp-1 127.1.0.1:6443', `    ${BLOCK_END}`], /without its BEGIN/],
    ['two BEGINs', [`    ${BLOCK_BEGIN}`, `    ${BLOCK_BEGIN}`, `    ${BLOCK_END}`], /a second/],
    ['an option inside the block', [`    ${BLOCK_BEGIN}`, '    balance roundrobin', `    ${BLOCK_END}`], /not a server line/],
    ['a server without a port inside the block', [`    ${BLOCK_BEGIN}`, '    server cp-1 127.1.0.1', `    ${BLOCK_END}`], /no address:port/],
  ];
  for (const [title, body, re] of malformed) it(`malformed block: ${title}`, () => assert.match(readBackend(withBlock(body), 'k8s-api').problem ?? '', re));
});

describe('haproxy config: serverChange', () => {
  const v = readBackend(CFG, 'k8s-api');
  const rows: [string, { name: string; address: string; port: number }, boolean, { add: string[]; remove: string[] }][] = [
    ['listing a listed server changes nothing', { name: 'cp-1', address: '127.1.0.1', port: 6443 }, true, { add: [], remove: [] }],
    ['listing a new server adds its line', { name: 'cp-3', address: '127.1.0.3', port: 6443 }, true, { add: ['server cp-3 127.1.0.3:6443'], remove: [] }],
    ['a stale address is replaced', { name: 'cp-2', address: '127.1.0.7', port: 6443 }, true, { add: ['server cp-2 127.1.0.7:6443'], remove: ['server cp-2 127.1.0.2:6443'] }],
    ['unlisting removes the line', { name: 'cp-2', address: '', port: 0 }, false, { add: [], remove: ['server cp-2 127.1.0.2:6443'] }],
    ['unlisting an unlisted server changes nothing (cp-3 of another backend is not ours)', { name: 'cp-3', address: '', port: 0 }, false, { add: [], remove: [] }],
  ];
  for (const [title, spec, present, want] of rows) it(title, () => assert.deepEqual(serverChange(v, spec, present), want));
  it('a duplicate line goes, the right one stays', () => {
    const d = readBackend(withBlock([`    ${BLOCK_BEGIN}`, '    server cp-1 127.1.0.1:6443', '    server cp-1 127.1.0.1:6443', `    ${BLOCK_END}`]), 'k8s-api');
    assert.deepEqual(serverChange(d, { name: 'cp-1', address: '127.1.0.1', port: 6443 }, true).remove, ['server cp-1 127.1.0.1:6443']);
  });
});

describe('haproxy config: blockRefusal and applyChange', () => {
  it('adds inside the block, after the last server, keeping the rest of the file byte for byte', () => {
    const v = readBackend(CFG, 'k8s-api');
    const change = serverChange(v, { name: 'cp-3', address: '127.1.0.3', port: 6443 }, true);
    assert.equal(blockRefusal(v, 'k8s-api', change), undefined);
    const out = applyChange(CFG, v, change);
    assert.equal(out, CFG.replace('    server cp-2 127.1.0.2:6443\n', '    server cp-2 127.1.0.2:6443\n    server cp-3 127.1.0.3:6443\n'));
    assert.deepEqual(readBackend(out, 'k8s-api').servers.map((s) => s.name), ['cp-1', 'cp-2', 'cp-3']);
  });
  it('removes only the named server', () => {
    const v = readBackend(CFG, 'k8s-api');
    const out = applyChange(CFG, v, serverChange(v, { name: 'cp-1', address: '', port: 0 }, false));
    assert.equal(out, CFG.replace('    server cp-1 127.1.0.1:6443\n', ''));
  });
  it('emptying the block keeps its markers, and a server can be added back', () => {
    let text = CFG;
    for (const n of ['cp-1', 'cp-2']) {
      const v = readBackend(text, 'k8s-api');
      text = applyChange(text, v, serverChange(v, { name: n, address: '', port: 0 }, false));
    }
    const v = readBackend(text, 'k8s-api');
    assert.deepEqual(v.servers, []);
    assert.ok(v.block);
    const back = applyChange(text, v, serverChange(v, { name: 'cp-1', address: '127.1.0.1', port: 6443 }, true));
    assert.deepEqual(readBackend(back, 'k8s-api').servers.map((s) => s.text), ['server cp-1 127.1.0.1:6443']);
  });
  const refusals: [string, string, RegExp][] = [
    ['no such backend', CFG.replace(/^backend k8s-api/m, 'backend api'), /no "backend k8s-api"/],
    ['no managed block', withBlock(['    server cp-1 127.1.0.1:6443']), /has no managed block/],
    ['malformed block', withBlock([`    ${BLOCK_BEGIN}`]), /malformed/],
  ];
  for (const [title, text, re] of refusals) {
    it(`refused: ${title}`, () => {
      const v = readBackend(text, 'k8s-api');
      assert.match(blockRefusal(v, 'k8s-api', serverChange(v, { name: 'cp-9', address: '127.1.0.9', port: 6443 }, true)) ?? '', re);
    });
  }
  it('refused: removing a line outside the block names it and its line number', () => {
    const text = withBlock(['    server cp-1 127.1.0.1:6443', `    ${BLOCK_BEGIN}`, `    ${BLOCK_END}`]);
    const v = readBackend(text, 'k8s-api');
    assert.match(blockRefusal(v, 'k8s-api', serverChange(v, { name: 'cp-1', address: '', port: 0 }, false)) ?? '', /outside the managed block: "server cp-1 127.1.0.1:6443" \(line 14\)/);
  });
});

describe('haproxy config: small helpers', () => {
  it('renderServerLine brackets IPv6', () => {
    assert.equal(renderServerLine({ name: 'a', address: '10.0.0.1', port: 6443 }), 'server a 10.0.0.1:6443');
    assert.equal(renderServerLine({ name: 'a', address: 'fd00::1', port: 6443 }), 'server a [fd00::1]:6443');
  });
  it('describeChange says where and what, removals first', () => {
    assert.deepEqual(describeChange('lb-1', '/etc/haproxy/haproxy.cfg', 'k8s-api', { add: ['server b 1.2.3.4:6443'], remove: ['server a 1.2.3.3:6443'] }), [
      'on lb-1, in /etc/haproxy/haproxy.cfg, backend k8s-api: remove the line "server a 1.2.3.3:6443"',
      'on lb-1, in /etc/haproxy/haproxy.cfg, backend k8s-api: add the line "server b 1.2.3.4:6443"',
    ]);
  });
  it('globalPaths reads the state file and admin socket of the global section', () => {
    assert.deepEqual(globalPaths(CFG), { stateFile: '/var/lib/haproxy/server-state', socket: '/run/haproxy/admin.sock' });
    assert.deepEqual(globalPaths('defaults\n    stats socket /x\n'), {});
  });
});
