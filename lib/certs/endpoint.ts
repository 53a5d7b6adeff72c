// A control node's own API endpoint as the certificate code passes it around, and how messages show it.

/** Where one control node serves the Kubernetes API. */
export interface NodeEndpoint {
  node: string;
  address: string;
  port: number;
}

/** `address:port` for messages (IPv6 in brackets). */
export function endpointText(e: Pick<NodeEndpoint, 'address' | 'port'>): string {
  return `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
}
