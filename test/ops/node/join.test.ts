// The kubeadm texts the join reads and writes (pure): join command, token list, JoinConfiguration.
import { strict as assert } from 'node:assert';
import { RemoteError } from '../../../lib/core/errors.js';
import { joinConfiguration, parseJoinCommand, parseTokenList } from '../../../lib/ops/node/join.js';

const HASH = `sha256:${'ab'.repeat(32)}`;
const TOKEN = 'abcdef.0123456789abcdef';

describe('parseJoinCommand', () => {
  const rows: { title: string; text: string; want?: { apiServerEndpoint: string; token: string; caCertHash: string } }[] = [
    { title: 'the one-line command kubeadm prints', text: `kubeadm join 10.0.0.1:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH} \n`, want: { apiServerEndpoint: '10.0.0.1:6443', token: TOKEN, caCertHash: HASH } },
    { title: 'warnings before the command are ignored', text: `W1130 some warning\nkubeadm join lb.example:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH}`, want: { apiServerEndpoint: 'lb.example:6443', token: TOKEN, caCertHash: HASH } },
    { title: 'a hash that is not sha256 hex is refused', text: `kubeadm join 10.0.0.1:6443 --token ${TOKEN} --discovery-token-ca-cert-hash md5:abc` },
    { title: 'no command at all is refused', text: 'error: could not create token' },
  ];
  for (const row of rows) {
    it(row.title, () => {
      if (row.want) return assert.deepEqual(parseJoinCommand(row.text, 'c1'), row.want);
      assert.throws(
        () => parseJoinCommand(row.text, 'c1'),
        (err: unknown) => err instanceof RemoteError && /unexpected output .* on c1/.test(err.message) && !err.message.includes(TOKEN) && err.context.host === 'c1' && typeof err.hint === 'string',
      );
    });
  }
});

describe('parseTokenList', () => {
  const rows: { title: string; text: string; want: { id: string; description: string }[] }[] = [
    {
      title: 'our tokens carry their description; the header and foreign lines are skipped',
      text: `TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS\n${TOKEN} 14m 2026-01-01T00:00:00Z authentication,signing cluster-cookbooks:k8s.add-node:w-1 system:bootstrappers\n`,
      want: [{ id: 'abcdef', description: 'cluster-cookbooks:k8s.add-node:w-1' }],
    },
    { title: "someone else's token has no description of ours", text: `zyxwvu.0123456789abcdef 1h 2026 signing <none> system:bootstrappers`, want: [{ id: 'zyxwvu', description: '' }] },
    { title: 'empty output: no tokens', text: '', want: [] },
  ];
  for (const row of rows) {
    it(row.title, () => assert.deepEqual(parseTokenList(row.text), row.want));
  }
});

describe('joinConfiguration', () => {
  const base = { apiServerEndpoint: '10.0.0.1:6443', token: TOKEN, caCertHash: HASH, nodeName: 'w-1' };
  const rows: { title: string; certificateKey?: string; has: RegExp[]; hasNot: RegExp[] }[] = [
    { title: 'a worker joins without a controlPlane section', has: [/kind: JoinConfiguration/, /token: "abcdef\.0123456789abcdef"/, /name: "w-1"/], hasNot: [/controlPlane:/] },
    { title: 'a control node joins with its certificate key', certificateKey: 'c'.repeat(64), has: [/controlPlane:\n {2}certificateKey: "c{64}"/], hasNot: [] },
  ];
  for (const row of rows) {
    it(row.title, () => {
      const text = joinConfiguration({ ...base, certificateKey: row.certificateKey });
      for (const re of row.has) assert.match(text, re);
      for (const re of row.hasNot) assert.doesNotMatch(text, re);
    });
  }
});
