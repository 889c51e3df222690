// The request's target read safely: a path is never taken for another host.
import type { IncomingMessage } from 'node:http';

/**
 * The request's URL, or undefined when it is not one: `//`, `//host/path` and other
 * scheme-relative forms are read as paths, never as another host.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  const raw = req.url ?? '/';
  try {
    return raw.startsWith('/') ? new URL(`http://localhost${raw}`) : new URL(raw);
  } catch {
    return undefined;
  }
}

