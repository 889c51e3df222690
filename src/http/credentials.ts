// Credentials from an Authorization header: a Bearer token, or Basic user:secret (git, docker
// login, curl -u), the one parser every surface uses.
import type { IncomingMessage } from 'node:http';

export type Credentials = { scheme: 'bearer'; secret: string } | { scheme: 'basic'; user: string; secret: string };

const BEARER = /^Bearer\s+(\S+)$/i;
const BASIC = /^Basic\s+([A-Za-z0-9+/]+={0,2})$/i;

/**
 * What the header carries, or undefined when it is absent or malformed: another scheme, Basic
 * whose value is not base64 or decodes to no `user:` before the secret. Schemes are read
 * case-insensitively (RFC 9110); the secret may be empty, and callers refuse it as they would a
 * wrong one.
 */
export function parseCredentials(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const bearer = BEARER.exec(header)?.[1];
  if (bearer) return { scheme: 'bearer', secret: bearer };
  const basic = BASIC.exec(header)?.[1];
  if (!basic) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { scheme: 'basic', user: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export function credentialsOf(req: IncomingMessage): Credentials | undefined {
  return parseCredentials(req.headers.authorization);
}
