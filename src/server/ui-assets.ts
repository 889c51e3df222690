// The web UI's files (ui/, built by Vite into dist/ui/): index.html for `/` and the UI's own
// routes (client-side routing), and the hashed files of dist/ui/assets/ served immutable,
// precompressed when the client takes it, under a Content-Security-Policy without inline scripts.
import { createReadStream, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson } from '../http/index.js';

/**
 * The UI's client-side routes, which all answer index.html (the UI routes itself): `:name` is one
 * path segment, `*` one or more. Add a page's route here and the server serves it.
 */
export const UI_ROUTES: readonly string[] = [
  '/',
  '/login',
  '/projects',
  '/projects/:name',
  '/runs/:id',
  '/environments',
  '/environments/:app/:env',
  '/registry',
  '/registry/*',
  '/dora',
  '/settings',
];

const routePattern = (route: string): RegExp =>
  new RegExp(`^${route.split('/').map((part) => (part === '*' ? '.+' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`);
const UI_ROUTE_PATTERNS = UI_ROUTES.map(routePattern);

/** Whether `pathname` (as received, still %-encoded) is a page of the UI. */
export function isUiRoute(pathname: string): boolean {
  return UI_ROUTE_PATTERNS.some((pattern) => pattern.test(pathname));
}

/** dist/ui, from this module's place in dist/src/server/. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

/** Every UI answer carries these: no inline script or style, no framing, nothing from elsewhere. */
export const UI_SECURITY_HEADERS: Readonly<OutgoingHttpHeaders> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

/** A file of assets/ by name alone: no separator, no dotfile, no `..`, no %-escape (nothing is decoded). */
const ASSET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+$/;
const MAX_ASSET_NAME_LENGTH = 200;

/** The types the UI's build emits; any other extension (.br and .gz included) is not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The precompressed siblings the build writes, best first. */
const ENCODINGS = [
  { name: 'br', suffix: '.br' },
  { name: 'gzip', suffix: '.gz' },
] as const;

/** The codings `Accept-Encoding` allows (q > 0), by RFC 9110 §12.5.3; `*` stands for the others. */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const q = new Map<string, number>();
  for (const part of (header ?? '').slice(0, 1000).split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (!coding) continue;
    const weight = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    q.set(coding, weight === undefined ? 1 : Number(weight));
  }
  const accepted = new Set<string>();
  for (const { name } of ENCODINGS) {
    const weight = q.get(name) ?? (name === 'gzip' ? q.get('x-gzip') : undefined) ?? q.get('*') ?? 0;
    if (weight > 0) accepted.add(name);
  }
  return accepted;
}

async function regularFile(file: string): Promise<Stats | undefined> {
  try {
    // lstat: a link planted in assets/ is not followed out of it
    const stats = await lstat(file);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

export interface UiAssetsOptions {
  /** the built UI (index.html, assets/); default dist/ui beside the compiled server */
  dir?: string;
  /** an unexpected failure (not a missing file), for the server log */
  onError?: (err: unknown) => void;
}

type Listener = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

/**
 * The UI's listener: true when it answered (GET or HEAD of a UI route or of /assets/…), false to
 * let the API answer (which keeps its JSON 404 for everything else).
 */
export function uiAssetsListener(options: UiAssetsOptions = {}): Listener {
  const dir = path.resolve(options.dir ?? DEFAULT_UI_DIR);
  const assetsDir = path.join(dir, 'assets');
  return (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = url.pathname;
    if (pathname.startsWith('/assets/')) {
      void serveAsset(req, res, assetsDir, pathname.slice('/assets/'.length)).catch((err: unknown) => fail(res, err, options.onError));
      return true;
    }
    if (!isUiRoute(pathname)) return false;
    void servePage(req, res, dir).catch((err: unknown) => fail(res, err, options.onError));
    return true;
  };
}

function fail(res: ServerResponse, err: unknown, onError: ((err: unknown) => void) | undefined): void {
  onError?.(err);
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error serving the UI; see the server log' } }, UI_SECURITY_HEADERS);
}

function notFound(res: ServerResponse, what: string): void {
  sendJson(res, 404, { error: { code: 'UI_ASSET_NOT_FOUND', message: `no UI asset ${what}` } }, { ...UI_SECURITY_HEADERS, 'Cache-Control': 'no-cache' });
}

async function serveAsset(req: IncomingMessage, res: ServerResponse, assetsDir: string, name: string): Promise<void> {
  const shown = JSON.stringify(name.slice(0, 100));
  const type = CONTENT_TYPES[path.extname(name).toLowerCase()];
  if (name.length > MAX_ASSET_NAME_LENGTH || !ASSET_NAME.test(name) || name.includes('..') || !type) return notFound(res, shown);
  const file = path.join(assetsDir, name);
  // the pattern already keeps it inside; this says so where a reader looks
  if (path.dirname(file) !== assetsDir) return notFound(res, shown);
  const sent = await sendFile(req, res, file, type, { 'Cache-Control': 'public, max-age=31536000, immutable' });
  if (!sent) notFound(res, shown);
}

async function servePage(req: IncomingMessage, res: ServerResponse, dir: string): Promise<void> {
  const sent = await sendFile(req, res, path.join(dir, 'index.html'), CONTENT_TYPES['.html']!, { 'Cache-Control': 'no-cache' });
  if (sent) return;
  const text = 'The web UI was not built: run `npm run build` (it builds ui/ into dist/ui/), then reload. The API is at /api/.\n';
  res.writeHead(503, { ...UI_SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/**
 * Sends `file` (or its best precompressed sibling the client accepts) with its validators; false
 * when there is no such regular file.
 */
async function sendFile(req: IncomingMessage, res: ServerResponse, file: string, type: string, headers: OutgoingHttpHeaders): Promise<boolean> {
  const plain = await regularFile(file);
  if (!plain) return false;
  const accepted = acceptedEncodings(req.headers['accept-encoding'] as string | undefined);
  let chosen = { file, stats: plain, encoding: undefined as string | undefined };
  for (const { name, suffix } of ENCODINGS) {
    if (!accepted.has(name)) continue;
    const stats = await regularFile(file + suffix);
    if (stats) {
      chosen = { file: file + suffix, stats, encoding: name };
      break;
    }
  }
  const etag = `"${plain.size.toString(36)}-${Math.floor(plain.mtimeMs).toString(36)}${chosen.encoding ? `-${chosen.encoding}` : ''}"`;
  const common: OutgoingHttpHeaders = {
    ...UI_SECURITY_HEADERS,
    ...headers,
    'Content-Type': type,
    Vary: 'Accept-Encoding',
    ETag: etag,
    'Last-Modified': plain.mtime.toUTCString(),
  };
  const match = req.headers['if-none-match'];
  if (match !== undefined && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    res.writeHead(304, common);
    res.end();
    return true;
  }
  const response: OutgoingHttpHeaders = { ...common, 'Content-Length': chosen.stats.size, ...(chosen.encoding ? { 'Content-Encoding': chosen.encoding } : {}) };
  if (req.method === 'HEAD') {
    res.writeHead(200, response);
    res.end();
    return true;
  }
  return new Promise<boolean>((resolve, reject) => {
    const stream = createReadStream(chosen.file);
    // opened before the head is written: a file removed since its stat is a 404, not a cut answer
    stream.once('open', () => {
      res.writeHead(200, response);
      stream.pipe(res);
      resolve(true);
    });
    stream.once('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) res.destroy(err);
      else if (err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
    res.once('close', () => stream.destroy());
  });
}
