import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether an IP address is a public unicast one that a URL fetched for an agent may reach. Refused:
 * loopback, private, link-local, carrier-grade NAT, multicast, broadcast, unspecified and reserved
 * ranges; IPv6 unique-local and link-local; and every IPv6 form that carries an IPv4 address
 * (IPv4-mapped `::ffff:0:0/96`, the deprecated IPv4-compatible `::/96`, NAT64 `64:ff9b::/96`,
 * 6to4 and Teredo), whatever the IPv4 address inside.
 */
export function isPublicAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  // Zone ids (`fe80::1%eth0`) are link-local by definition.
  if (bare.includes('%')) return false;
  if (isIP(bare) === 0) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(bare);
  } catch {
    return false;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    const parts = v6.parts;
    // ::/96: the first 96 bits are zero (`::1`, `::127.0.0.1`, `::`).
    if (parts.slice(0, 6).every((p) => p === 0)) return false;
    if (v6.range() !== 'unicast') return false;
    // Global unicast is 2000::/3; anything else left over is not for the internet.
    return (parts[0] ?? 0) >= 0x2000 && (parts[0] ?? 0) <= 0x3fff;
  }
  return parsed.range() === 'unicast';
}
