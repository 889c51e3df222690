// Cookies, read and written by RFC 6265's rules: the one place that parses a Cookie header and
// builds a Set-Cookie, so every cookie the server sets carries the same hardening.
import type { IncomingMessage } from 'node:http';

/** A cookie-name token (RFC 6265 §4.1.1): what the server may name a cookie. */
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** cookie-octets: no blanks, quotes, commas, semicolons or backslashes */
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
/** Cookie headers past this are not read: no browser sends one this long for us. */
const MAX_HEADER_LENGTH = 8192;

/**
 * The value of cookie `name` in the request's Cookie header, undefined when it is absent, empty
 * or not made of cookie-octets. The first one wins when a name repeats (the most specific path
 * comes first, RFC 6265 §5.4).
 */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header || header.length > MAX_HEADER_LENGTH) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value !== '' && VALUE.test(value) ? value : undefined;
  }
  return undefined;
}

export interface CookieOptions {
  /** seconds; 0 deletes the cookie */
  maxAgeS: number;
  /** sent only over https: set when the request came over TLS */
  secure: boolean;
}

/**
 * A Set-Cookie value that scripts cannot read (HttpOnly), that no other site's page sends
 * (SameSite=Strict), for the whole server (Path=/), on this host only (no Domain).
 */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  if (!NAME.test(name)) throw new Error(`"${name}" is not a cookie name`);
  if (!VALUE.test(value)) throw new Error(`the value of cookie ${name} has characters a cookie cannot carry`);
  const maxAge = Math.max(0, Math.floor(options.maxAgeS));
  return `${name}=${value}; Max-Age=${maxAge}; Path=/; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}
