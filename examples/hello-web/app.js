// hello-web's HTTP handler and its graceful shutdown, kept apart from server.js so that the tests
// and the image's self-test can start it on any port and stop it like a container runtime would.
import http from 'node:http';
import os from 'node:os';

/**
 * @typedef {object} AppConfig
 * @property {string} version      what `/` and `/version` report (the image's VERSION build arg)
 * @property {string} greeting     the first word of `/`
 * @property {boolean} failHealthz  answer 503 on /healthz: builds a deliberately unhealthy version for rollback tests
 */

/** Reads the configuration from the environment, with the defaults the README documents. */
export function configFromEnv(env = process.env) {
  return {
    version: env.VERSION || 'dev',
    greeting: env.GREETING || 'hello',
    failHealthz: isTrue(env.FAIL_HEALTHZ),
  };
}

function isTrue(value) {
  return value !== undefined && ['1', 'true', 'yes'].includes(value.toLowerCase());
}

// /slow holds a request open; it exists so that tests can prove in-flight requests survive a
// SIGTERM. Capped so that a typo cannot pin a connection for hours.
const SLOW_MAX_MS = 60_000;

/**
 * Creates the server without listening. `server.drain(timeoutMs)` stops it gracefully.
 * @param {AppConfig} config
 */
export function createApp(config) {
  const startedAt = new Date().toISOString();
  let draining = false;
  /** @type {Set<http.ServerResponse>} */
  const inFlight = new Set();

  const server = http.createServer((req, res) => {
    inFlight.add(res);
    res.on('close', () => {
      inFlight.delete(res);
      // the socket of a finished response is idle now: while draining, it must not keep the
      // server open until its keep-alive timeout
      if (draining) setImmediate(() => server.closeIdleConnections());
    });
    // A request answered while draining does not keep its connection: the client reconnects,
    // and reaches a replica that stays.
    if (draining) res.setHeader('connection', 'close');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    if (!route) return send(res, 404, 'text/plain', `not found: ${url.pathname}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain', `method ${req.method} not allowed\n`);
    }
    route(url, res);
  });

  /** @type {Record<string, (url: URL, res: http.ServerResponse) => void>} */
  const routes = {
    '/': (_url, res) => send(res, 200, 'text/plain', `${config.greeting} from hello-web ${config.version}\n`),
    '/healthz': (_url, res) => {
      // Failing the health check while draining tells a proxy that still probes this replica to
      // stop sending it traffic, before the process goes away.
      if (draining) return send(res, 503, 'text/plain', 'draining\n');
      if (config.failHealthz) return send(res, 503, 'text/plain', 'unhealthy (FAIL_HEALTHZ is set)\n');
      send(res, 200, 'text/plain', 'ok\n');
    },
    '/version': (_url, res) =>
      send(res, 200, 'application/json', JSON.stringify({
        name: 'hello-web',
        version: config.version,
        greeting: config.greeting,
        node: process.version,
        // the container's host name tells replicas apart behind a proxy
        hostname: os.hostname(),
        pid: process.pid,
        startedAt,
      }) + '\n'),
    '/slow': (url, res) => {
      const ms = Math.min(Math.max(Number(url.searchParams.get('ms') ?? 1000) || 0, 0), SLOW_MAX_MS);
      const body = `slow ${ms}\n`;
      // headers now, body later: a client that has the headers knows its request is in flight
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.flushHeaders();
      setTimeout(() => res.end(res.req.method === 'HEAD' ? undefined : body), ms);
    },
  };

  /**
   * Stops accepting connections, lets in-flight requests finish, and resolves once the server has
   * closed: `true` if it drained in time, `false` if connections had to be cut at the deadline.
   * @param {number} timeoutMs
   * @returns {Promise<boolean>}
   */
  function drain(timeoutMs) {
    draining = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    return new Promise((resolve) => {
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        resolve(false);
      }, timeoutMs);
      deadline.unref();
      server.close(() => {
        clearTimeout(deadline);
        resolve(true);
      });
      // close() only stops the listener; idle kept-alive sockets would otherwise hold it open
      // until their keep-alive timeout.
      server.closeIdleConnections();
    });
  }

  return Object.assign(server, { drain, isDraining: () => draining });
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} type
 * @param {string} body
 */
function send(res, status, type, body) {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * Starts the server and resolves with it and the port it listens on (useful with port 0).
 * @param {AppConfig & { port: number, host?: string }} options
 */
export async function startApp(options) {
  const server = createApp(options);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve(undefined);
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { server, port };
}
