// Host names as the front sees them: the Host header read strictly (a hostile one never reaches a
// route, a log or a redirect), and the route table matching a name to a pool, exact names before
// `*.example.test` wildcards, the longest wildcard first.
import net from 'node:net';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const WILDCARD = new RegExp(`^\\*(?:\\.${LABEL})+$`);
const HOST_HEADER = /^([^:[\]]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?$/;

/** An RFC 1123 host name (lower case, at most 253 characters). */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && DNS_NAME.test(name);
}

/** A route's name: a DNS name or `*.` followed by one (which matches names below it, at any depth). */
export function isRouteHostname(name: string): boolean {
  return name.length <= 253 && (DNS_NAME.test(name) || WILDCARD.test(name));
}

/**
 * The host a request names, lower-cased, without port or trailing dot; undefined when the header
 * is absent or not an RFC 1123 name or an IP address (the front answers 400).
 */
export function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = HOST_HEADER.exec(header);
  if (!match) return undefined;
  const port = match[2];
  if (port !== undefined && Number(port) > 65535) return undefined;
  const raw = match[1] ?? '';
  if (raw.startsWith('[')) return net.isIPv6(raw.slice(1, -1)) ? raw.toLowerCase() : undefined;
  const name = raw.toLowerCase().replace(/\.$/, '');
  return net.isIPv4(name) || isDnsName(name) ? name : undefined;
}

export interface Route {
  hostnames: string[];
  pool: string;
  tls: boolean;
}

export class RouteTable {
  private readonly exact = new Map<string, Route>();
  /** suffixes with their leading dot (`.example.test`), longest first */
  private readonly wildcards: Array<{ suffix: string; route: Route }> = [];

  /** Routes are validated beforehand (names valid and lower-case, none named twice). */
  constructor(readonly routes: Route[] = []) {
    for (const route of routes) {
      for (const name of route.hostnames) {
        if (name.startsWith('*.')) this.wildcards.push({ suffix: name.slice(1), route });
        else this.exact.set(name, route);
      }
    }
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  match(host: string): Route | undefined {
    const exact = this.exact.get(host);
    if (exact) return exact;
    return this.wildcards.find((w) => host.endsWith(w.suffix) && host.length > w.suffix.length)?.route;
  }
}
