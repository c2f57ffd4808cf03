/**
 * Which hosts the Worker's own requests to user-given URLs (imports, webhooks) may go to: not
 * this machine, not a private network, not link-local, multicast or reserved space. The host is
 * judged as the URL parser leaves it, so every spelling of an address (`2130706433`, `0x7f.1`,
 * `127.1`, `[::ffff:127.0.0.1]`) is judged as the address it is.
 *
 * Only what the URL says can be checked: a Worker has no DNS lookup, so a public name whose
 * record points at a private address passes here (on Cloudflare, the network does not route a
 * Worker's requests to private addresses).
 */

/** What kind of non-public address a literal is, for messages; null for a public one. */
export type AddressClass =
  | "unspecified"
  | "loopback"
  | "private"
  | "shared (CGNAT)"
  | "link-local"
  | "unique-local"
  | "multicast"
  | "reserved";

/** An IPv4 address in dotted-quad form (what the URL parser makes of every IPv4 spelling), else null. */
function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

export function ipv4Class(octets: readonly number[]): AddressClass | null {
  const [a = 0, b = 0, c = 0] = octets;
  if (a === 0) return "unspecified"; // 0.0.0.0/8, "this network"
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 100 && b >= 64 && b <= 127) return "shared (CGNAT)";
  if (a === 169 && b === 254) return "link-local";
  if (a >= 224 && a <= 239) return "multicast";
  // 240.0.0.0/4 and the broadcast address; IETF protocol assignments; benchmarking.
  if (a >= 240 || (a === 192 && b === 0 && c === 0) || (a === 198 && (b === 18 || b === 19))) return "reserved";
  return null;
}

/** The eight 16-bit groups of an IPv6 address (with or without a dotted IPv4 tail), else null. */
function ipv6Groups(host: string): number[] | null {
  let text = host.toLowerCase();
  const tail = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (tail) {
    const octets = ipv4Octets(tail[1] as string);
    if (!octets) return null;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, tail.index)}:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":"));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => Number.parseInt(g, 16));
}

const embeddedIPv4 = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];

export function ipv6Class(groups: readonly number[]): AddressClass | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0) {
    // ::ffff:a.b.c.d (IPv4-mapped) is the IPv4 address itself.
    if (g5 === 0xffff) return ipv4Class(embeddedIPv4(g6, g7));
    if (g5 === 0 && g6 === 0 && g7 === 0) return "unspecified";
    if (g5 === 0 && g6 === 0 && g7 === 1) return "loopback";
    return "reserved"; // ::a.b.c.d (IPv4-compatible, deprecated) and the rest of ::/80
  }
  // 64:ff9b::/96 (NAT64) reaches the IPv4 address it embeds; 64:ff9b:1::/48 is for local use.
  if (g0 === 0x64 && g1 === 0xff9b) {
    if (g2 === 1) return "private";
    if (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return ipv4Class(embeddedIPv4(g6, g7));
  }
  // 2002::/16 (6to4) embeds an IPv4 address in its next 32 bits.
  if (g0 === 0x2002) return ipv4Class(embeddedIPv4(g1, g2));
  if ((g0 & 0xfe00) === 0xfc00) return "unique-local"; // fc00::/7
  if ((g0 & 0xffc0) === 0xfe80) return "link-local"; // fe80::/10
  if ((g0 & 0xffc0) === 0xfec0) return "private"; // fec0::/10, site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return "multicast"; // ff00::/8
  // Global unicast is 2000::/3; the rest (100::/64 discard-only among it) is not handed out.
  if ((g0 & 0xe000) !== 0x2000) return "reserved";
  return null;
}

/**
 * The class of a URL's `hostname` when it is a literal address that is not public (IPv6 in
 * brackets, as URLs write it); null for a public address or a name.
 */
export function literalAddressClass(hostname: string): AddressClass | null {
  if (hostname.startsWith("[") && hostname.endsWith("]")) {
    const groups = ipv6Groups(hostname.slice(1, -1));
    return groups ? ipv6Class(groups) : "reserved";
  }
  const octets = ipv4Octets(hostname);
  return octets ? ipv4Class(octets) : null;
}

/** `localhost` and names under it (RFC 6761), with or without the root's trailing dot. */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/**
 * Why `url` may not be fetched, or null: only http(s), no credentials in it, and no host that is
 * this machine or a non-public address (unless `allowPrivate`, for local development).
 */
export function publicUrlProblem(url: URL, options: { allowPrivate: boolean }): string | null {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `Only http and https URLs can be fetched, not ${url.protocol.replace(/:$/, "")}`;
  }
  if (url.username || url.password) return "The URL must not carry credentials";
  if (options.allowPrivate) return null;
  if (isLocalhostName(url.hostname)) return `${url.hostname} is this machine, not a public host`;
  const kind = literalAddressClass(url.hostname);
  if (kind) return `${url.hostname} is a ${kind} address, not a public one`;
  return null;
}
