// The data plane's configuration and control bodies: their types and the validation every control
// call and the state file go through. Nothing from a body reaches a listener, a route or a file
// before it passed here; a refusal names the field (`front.routes[2].hostnames[0]`).
import net from 'node:net';
import { isRouteHostname } from './hosts.js';
import type { Upstream } from './pool.js';

export interface ListenerConfig {
  pool: string;
  address: string;
  /** 0 = ephemeral: chosen at the first bind, then kept (across restarts too) */
  port: number;
}

export interface RouteConfig {
  /** lower-case DNS names or `*.example.test` wildcards */
  hostnames: string[];
  pool: string;
  /** plain HTTP to these names is redirected to HTTPS */
  tls: boolean;
}

export interface CertificateConfig {
  /** PEM certificate, optionally followed by its chain */
  cert: string;
  /** PEM private key */
  key: string;
}

export interface FrontConfig {
  address: string;
  httpPort: number;
  /** bound only when there are certificates */
  httpsPort: number;
  routes: RouteConfig[];
  /** SNI chooses by the certificates' names; the first serves clients without SNI */
  certificates: CertificateConfig[];
}

export interface DataPlaneConfig {
  /** plain listeners: every request on address:port goes to pool */
  listeners: ListenerConfig[];
  front?: FrontConfig;
}

export interface DrainBody {
  id: string;
  timeoutMs: number;
}

/** A body or state file refused: `message` names the field. */
export class ConfigError extends Error {}

const MAX_TIMEOUT_MS = 10 * 60_000;
// Docker container names (the host of an upstream on a Docker network) allow `_`, DNS names don't.
const UPSTREAM_HOST = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252})$/;

type Fields = Record<string, unknown>;

function object(value: unknown, at: string, keys: string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${at} must be an object`);
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new ConfigError(`${at} has unknown field '${unknown[0]}'; expected ${keys.join(', ')}`);
  return value as Fields;
}

function array(value: unknown, at: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(`${at} must be an array`);
  if (value.length > max) throw new ConfigError(`${at} has ${value.length} entries; at most ${max} are allowed`);
  return value;
}

const CONTROL = /[\u0000-\u001f\u007f]/;
// PEM text has line breaks (and maybe tabs), never other control characters.
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function text(value: unknown, at: string, maxLength: number, lines = false): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`${at} must be a non-empty string`);
  if (value.length > maxLength) throw new ConfigError(`${at} is longer than ${maxLength} characters`);
  if ((lines ? CONTROL_BUT_LINES : CONTROL).test(value)) throw new ConfigError(`${at} contains a control character`);
  return value;
}

function integer(value: unknown, at: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${at} must be an integer from ${min} to ${max}`);
  return value;
}

/** Pool names are the agent's `app/environment`: any printable text without control characters. */
export function poolName(value: unknown, at = 'pool'): string {
  return text(value, at, 200);
}

function address(value: unknown, at: string): string {
  const s = text(value, at, 253);
  if (net.isIP(s) === 0 && s !== 'localhost') throw new ConfigError(`${at} must be an IP address to listen on (0.0.0.0, 127.0.0.1, ::)`);
  return s;
}

export function parseUpstream(value: unknown): Upstream {
  const body = object(value, 'the upstream', ['id', 'host', 'port']);
  const host = text(body.host, 'host', 253);
  if (net.isIP(host) === 0 && !UPSTREAM_HOST.test(host)) throw new ConfigError(`host must be an IP address or a host/container name`);
  return { id: text(body.id, 'id', 256), host, port: integer(body.port, 'port', 1, 65535) };
}

export function parseDrain(value: unknown): DrainBody {
  const body = object(value, 'the drain request', ['id', 'timeoutMs']);
  return { id: text(body.id, 'id', 256), timeoutMs: integer(body.timeoutMs, 'timeoutMs', 0, MAX_TIMEOUT_MS) };
}

export function parseTimeoutMs(value: string | null): number {
  if (value === null) return 0;
  if (!/^\d{1,7}$/.test(value)) throw new ConfigError(`timeoutMs must be an integer from 0 to ${MAX_TIMEOUT_MS}`);
  return integer(Number(value), 'timeoutMs', 0, MAX_TIMEOUT_MS);
}

export function parseConfig(value: unknown): DataPlaneConfig {
  const body = object(value, 'the config', ['listeners', 'front']);
  const listeners = array(body.listeners, 'listeners', 1000).map((entry, i): ListenerConfig => {
    const l = object(entry, `listeners[${i}]`, ['pool', 'address', 'port']);
    return { pool: poolName(l.pool, `listeners[${i}].pool`), address: address(l.address, `listeners[${i}].address`), port: integer(l.port, `listeners[${i}].port`, 0, 65535) };
  });
  const taken = new Set<string>();
  for (const [i, l] of listeners.entries()) {
    if (l.port === 0) continue;
    const key = `${l.address} ${l.port}`;
    if (taken.has(key)) throw new ConfigError(`listeners[${i}] repeats ${l.address}:${l.port}`);
    taken.add(key);
  }
  const config: DataPlaneConfig = { listeners };
  if (body.front !== undefined) config.front = parseFront(body.front);
  return config;
}

function parseFront(value: unknown): FrontConfig {
  const f = object(value, 'front', ['address', 'httpPort', 'httpsPort', 'routes', 'certificates']);
  const front: FrontConfig = {
    address: address(f.address, 'front.address'),
    httpPort: integer(f.httpPort, 'front.httpPort', 0, 65535),
    httpsPort: integer(f.httpsPort, 'front.httpsPort', 0, 65535),
    routes: array(f.routes, 'front.routes', 1000).map((r, i) => parseRoute(r, `front.routes[${i}]`)),
    certificates: array(f.certificates, 'front.certificates', 100).map((c, i) => {
      const at = `front.certificates[${i}]`;
      const pem = object(c, at, ['cert', 'key']);
      return { cert: text(pem.cert, `${at}.cert`, 256 * 1024, true), key: text(pem.key, `${at}.key`, 64 * 1024, true) };
    }),
  };
  if (front.httpPort !== 0 && front.httpPort === front.httpsPort) throw new ConfigError('front.httpPort and front.httpsPort must differ');
  const named = new Map<string, number>();
  for (const [i, route] of front.routes.entries()) {
    if (route.tls && front.certificates.length === 0) throw new ConfigError(`front.routes[${i}] has tls but front.certificates is empty`);
    for (const name of route.hostnames) {
      const before = named.get(name);
      if (before !== undefined) throw new ConfigError(`front.routes[${i}] names ${name}, which front.routes[${before}] names too`);
      named.set(name, i);
    }
  }
  return front;
}

function parseRoute(value: unknown, at: string): RouteConfig {
  const r = object(value, at, ['hostnames', 'pool', 'tls']);
  const hostnames = array(r.hostnames, `${at}.hostnames`, 100).map((h, j) => {
    const name = text(h, `${at}.hostnames[${j}]`, 253).toLowerCase();
    if (!isRouteHostname(name)) throw new ConfigError(`${at}.hostnames[${j}] is not a host name (RFC 1123, or *.example.test)`);
    return name;
  });
  if (hostnames.length === 0) throw new ConfigError(`${at}.hostnames must name at least one host`);
  if (typeof r.tls !== 'boolean') throw new ConfigError(`${at}.tls must be true or false`);
  return { hostnames, pool: poolName(r.pool, `${at}.pool`), tls: r.tls };
}
