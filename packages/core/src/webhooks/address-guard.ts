import { isIP } from 'node:net';
import { hostname } from 'node:os';

// Names that mean this machine without asking DNS: the loopback names of RFC 6761
// and of common /etc/hosts files, and the machine's own name.
const LOOPBACK_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);

/**
 * True when a host name means this machine however it is spelled: any case, with
 * or without the trailing dot of a fully qualified name, `*.localhost`, and the
 * name `os.hostname()` gives (read at each call: it can change).
 */
export function isThisMachineName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.+$/, '');
  if (name === '') return false;
  if (LOOPBACK_NAMES.has(name) || name.endsWith('.localhost')) return true;
  const own = hostname().toLowerCase().replace(/\.+$/, '');
  return own !== '' && name === own;
}

/** Why an address may not be called by a webhook, or undefined when it is public. */
export function blockedReason(address: string): string | undefined {
  const version = isIP(address);
  if (version === 4) return blockedV4(address.split('.').map(Number) as [number, number, number, number]);
  if (version === 6) return blockedV6(address);
  return 'not an IP address';
}

function blockedV4([a, b]: [number, number, number, number]): string | undefined {
  if (a === 0) return 'unspecified (0.0.0.0/8)';
  if (a === 127) return 'loopback (127.0.0.0/8)';
  if (a === 10) return 'private (10.0.0.0/8)';
  if (a === 172 && b >= 16 && b <= 31) return 'private (172.16.0.0/12)';
  if (a === 192 && b === 168) return 'private (192.168.0.0/16)';
  if (a === 169 && b === 254) return 'link-local or metadata (169.254.0.0/16)';
  if (a === 100 && b >= 64 && b <= 127) return 'shared address space (100.64.0.0/10)';
  if (a === 192 && b === 0) return 'IETF protocol assignments (192.0.0.0/24)';
  if (a === 198 && (b === 18 || b === 19)) return 'benchmarking (198.18.0.0/15)';
  if (a >= 224) return 'multicast or reserved (224.0.0.0/3)';
  return undefined;
}

/** Parses an IPv6 address into 8 16-bit groups (an embedded IPv4 tail included). */
function groupsOf(address: string): number[] {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parts = text.split('::');
  const left = parts[0] ? parts[0].split(':') : [];
  const right = parts.length > 1 && parts[1] ? parts[1].split(':') : [];
  const fill = parts.length > 1 ? 8 - left.length - right.length : 0;
  return [...left, ...new Array<string>(Math.max(0, fill)).fill('0'), ...right].map((h) => parseInt(h, 16));
}

function blockedV6(address: string): string | undefined {
  const g = groupsOf(address);
  if (g.length !== 8) return 'unparsable IPv6 address';
  if (g.every((x) => x === 0)) return 'unspecified (::)';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback (::1)';
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address: judge that.
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  const compatible = g.slice(0, 6).every((x) => x === 0);
  if (mapped || nat64 || compatible) {
    const v4 = [(g[6] as number) >> 8, (g[6] as number) & 0xff, (g[7] as number) >> 8, (g[7] as number) & 0xff] as [number, number, number, number];
    const reason = blockedV4(v4);
    return reason === undefined ? undefined : `IPv4 ${v4.join('.')} inside IPv6: ${reason}`;
  }
  const first = g[0] as number;
  if ((first & 0xfe00) === 0xfc00) return 'unique local (fc00::/7)';
  if ((first & 0xffc0) === 0xfe80) return 'link-local (fe80::/10)';
  if ((first & 0xff00) === 0xff00) return 'multicast (ff00::/8)';
  return undefined;
}
