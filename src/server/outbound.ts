// Where the server must never send a request it was asked to make (a commit status, a webhook
// run's git fetch): link-local, unspecified and cloud metadata addresses, in any spelling. Loopback
// and private networks stay allowed: self-hosted forges live there.
import { BlockList, isIP } from 'node:net';

/** Host names of cloud metadata services (they resolve only inside the cloud, so the name is checked too). */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/**
 * Address ranges that no forge has, by why. IPv4-mapped IPv6 (::ffff:a.b.c.d) is matched by the
 * IPv4 rules by BlockList itself; IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms
 * are added beside each IPv4 range.
 */
const REFUSED_ADDRESSES: Array<{ why: string; ranges: BlockList }> = [
  { why: 'the unspecified address', v4: [['0.0.0.0', 8]], v6: [['::', 128]] },
  {
    why: 'a cloud metadata address',
    // Alibaba Cloud; Azure's WireServer; AWS IMDS over IPv6
    v4: [['100.100.100.200', 32], ['168.63.129.16', 32]],
    v6: [['fd00:ec2::254', 128]],
  },
  { why: 'a link-local address, where cloud metadata services answer', v4: [['169.254.0.0', 16]], v6: [['fe80::', 10]] },
].map(({ why, v4, v6 }) => {
  const ranges = new BlockList();
  for (const [network, prefix] of v4 as Array<[string, number]>) {
    ranges.addSubnet(network, prefix, 'ipv4');
    ranges.addSubnet(`64:ff9b::${network}`, 96 + prefix, 'ipv6');
    // ::0.0.0.0/104 would take ::1 (loopback) with it; :: itself is in the IPv6 list
    if (network !== '0.0.0.0') ranges.addSubnet(`::${network}`, 96 + prefix, 'ipv6');
  }
  for (const [network, prefix] of v6 as Array<[string, number]>) ranges.addSubnet(network, prefix, 'ipv6');
  return { why, ranges };
});

/** What an IP address is when the server must not connect to it ("a link-local address …"), or undefined. */
export function refusedAddressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  for (const { why, ranges } of REFUSED_ADDRESSES) if (ranges.check(address, family === 6 ? 'ipv6' : 'ipv4')) return why;
  return undefined;
}

/** Why the server must not connect to this URL host (as the URL parser normalised it), or undefined. */
export function outboundHostProblem(hostname: string): string | undefined {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (METADATA_NAMES.has(host)) return `${host} is a cloud metadata service, not a forge`;
  const kind = isIP(host) ? refusedAddressKind(host) : undefined;
  return kind ? `${host} is ${kind}` : undefined;
}

