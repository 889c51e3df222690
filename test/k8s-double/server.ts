// The HTTP face of the double: discovery, the REST paths of the served resources (get, list,
// watch, create, update, patch, apply, delete, status and token subresources), bearer-token
// authentication, RBAC, and real `Status` bodies for every error.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Certificate } from './tls.js';
import { parse as parseYaml } from 'yaml';
import type { Authorizer, Identity } from './auth.js';
import type { Cluster, PatchType } from './cluster.js';
import { openApiGroupVersion, openApiRoot } from './openapi.js';
import { ApiError, isObject, statusError, type KObject, type Status } from './objects.js';
import { apiGroupList, findByPlural, groupVersion, qualifiedName, resourceList, RESOURCES, type ResourceType } from './resources.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { toTable, wantsTable } from './tables.js';

export interface ControlHandler {
  /** `/_double/...` requests from tests (admin token only); returns the JSON answer */
  (path: string, body: unknown): unknown;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

export function createApiServer(cluster: Cluster, auth: Authorizer, control: ControlHandler, tls: Certificate, watchLifetimeMs?: number): Server {
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof ApiError ? err.status : statusError(500, 'InternalError', `Internal error occurred: ${String(err)}`).status;
      if (!res.headersSent) sendJson(res, status.code, status);
      else res.end();
    });
  });
  // watches stay open; a stopping double must not wait for them
  server.keepAliveTimeout = 1000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return;
    }
    const who = auth.authenticate(req.headers.authorization);
    if (!who) throw statusError(401, 'Unauthorized', 'Unauthorized');

    if (path.startsWith('/_double/')) {
      if (!who.groups.includes('system:masters')) throw statusError(403, 'Forbidden', 'the double control endpoints need the admin token');
      sendJson(res, 200, control(path.slice('/_double/'.length), await readBody(req)));
      return;
    }
    const discovery = discover(path, req);
    if (discovery !== undefined) {
      sendJson(res, 200, discovery);
      return;
    }
    if (path === '/openapi/v3') {
      sendJson(res, 200, openApiRoot());
      return;
    }
    const gvDoc = path.startsWith('/openapi/v3/') ? openApiGroupVersion(path.slice('/openapi/v3/'.length)) : undefined;
    if (gvDoc) {
      sendJson(res, 200, gvDoc);
      return;
    }
    if (path.startsWith('/openapi/')) throw statusError(404, 'NotFound', 'the server could not find the requested resource');
    const route = parseRoute(path);
    if (!route) throw statusError(404, 'NotFound', 'the server could not find the requested resource');
    await serveResource(route, url, req, res, who);
  }

  function discover(path: string, req: IncomingMessage): unknown {
    if (path === '/version') {
      return { major: '1', minor: '32', gitVersion: 'v1.32.0-slipway-double', gitCommit: '0000000', gitTreeState: 'clean', buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.23', compiler: 'gc', platform: 'linux/amd64' };
    }
    if (path === '/api') {
      const host = req.headers.host ?? '127.0.0.1';
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] };
    }
    if (path === '/apis') return apiGroupList();
    if (path === '/api/v1') return resourceList('', 'v1');
    let m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) return resourceList(m[1] ?? '', m[2] ?? '') ?? undefined;
    m = /^\/apis\/([^/]+)$/.exec(path);
    if (m && RESOURCES.some((r) => r.group === m?.[1])) {
      const versions = [...new Set(RESOURCES.filter((r) => r.group === m?.[1]).map((r) => r.version))].map((version) => ({ groupVersion: `${m?.[1]}/${version}`, version }));
      return { kind: 'APIGroup', apiVersion: 'v1', name: m[1], versions, preferredVersion: versions[0] };
    }
    return undefined;
  }

  function parseRoute(path: string): Route | undefined {
    let group = '';
    let version = '';
    let rest: string[];
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'api' && parts[1] === 'v1') {
      version = 'v1';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const type = findByPlural(group, version, rest[0] ?? '');
    if (!type || rest.length > 3) return undefined;
    if (!type.namespaced && namespace) return undefined;
    const subresource = rest[2];
    if (subresource && !type.subresources.includes(subresource)) return undefined;
    return { type, namespace, name: rest[1], subresource };
  }

  async function serveResource(route: Route, url: URL, req: IncomingMessage, res: ServerResponse, who: Identity): Promise<void> {
    const { type, namespace, name, subresource } = route;
    const method = req.method ?? 'GET';
    const watching = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb =
      method === 'GET' ? (name ? 'get' : watching ? 'watch' : 'list')
      : method === 'POST' ? 'create'
      : method === 'PUT' ? 'update'
      : method === 'PATCH' ? 'patch'
      : method === 'DELETE' ? (name ? 'delete' : 'deletecollection')
      : '';
    if (!verb) throw statusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    // an apply that would create the object needs create as well as patch, as on a real server
    const creating = method === 'PATCH' && name !== undefined && !subresource && cluster.store.get(type, namespace, name) === undefined;
    const denied = [verb, ...(creating ? ['create'] : [])].find((v) => !auth.isAllowed(who, { verb: v, group: type.group, resource: type.plural, subresource, namespace, name }));
    if (denied) {
      const verb = denied;
      const resource = subresource ? `${type.plural}/${subresource}` : type.plural;
      const target = name ? `${qualifiedName(type)} "${name}"` : qualifiedName(type);
      const scope = namespace ? ` in the namespace "${namespace}"` : type.namespaced ? '' : ' at the cluster scope';
      throw statusError(403, 'Forbidden', `${target} is forbidden: User "${who.user}" cannot ${verb} resource "${resource}" in API group "${type.group}"${scope}`, {
        ...(name ? { name } : {}),
        group: type.group,
        kind: type.plural,
      });
    }
    const manager = url.searchParams.get('fieldManager') ?? (req.headers['user-agent'] ?? 'unknown').split('/')[0] ?? 'unknown';

    if (method === 'GET' && !name) {
      const matches = matcher(url, namespace);
      if (watching) return serveWatch(type, url, res, matches, req);
      const items = cluster.store.list(type, namespace).filter(matches);
      const list = { kind: `${type.kind}List`, apiVersion: groupVersion(type), metadata: { resourceVersion: String(cluster.store.resourceVersion) }, items };
      sendJson(res, 200, wantsTable(req.headers.accept) ? toTable(type, items, list.metadata) : list);
      return;
    }
    if (method === 'GET' && name) {
      const obj = cluster.get(type, namespace, name);
      if (subresource === 'log') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('');
        return;
      }
      if (subresource === 'scale') {
        sendJson(res, 200, toScale(type, obj));
        return;
      }
      sendJson(res, 200, wantsTable(req.headers.accept) ? toTable(type, [obj], { resourceVersion: obj.metadata.resourceVersion }) : obj);
      return;
    }
    if (method === 'POST' && type.kind === 'ServiceAccount' && name && subresource === 'token') {
      cluster.get(type, namespace, name);
      const body = await readBody(req);
      const spec = isObject(body) && isObject(body.spec) ? body.spec : {};
      const seconds = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : 3600;
      const token = auth.issueServiceAccountToken(namespace ?? '', name);
      sendJson(res, 201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace, creationTimestamp: null },
        spec: { ...spec, expirationSeconds: seconds },
        status: { token, expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
      });
      return;
    }
    if (method === 'POST' && !name) {
      const body = await readBody(req);
      if (!isObject(body)) throw statusError(400, 'BadRequest', 'the request body must be an object');
      sendJson(res, 201, cluster.create(type, body as KObject, namespace, { manager }));
      return;
    }
    if (!name) throw statusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (subresource && subresource !== 'status' && subresource !== 'scale') throw statusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (subresource === 'scale') {
      const body = await readBody(req);
      const replicas = isObject(body) && isObject(body.spec) ? body.spec.replicas : undefined;
      if (typeof replicas !== 'number') throw statusError(422, 'Invalid', 'Scale.autoscaling "" is invalid: spec.replicas: Required value');
      const obj = cluster.patch(type, namespace, name, 'merge', { spec: { replicas } }, { manager });
      sendJson(res, 200, toScale(type, obj));
      return;
    }
    const sub = subresource === 'status' ? ('status' as const) : undefined;
    if (method === 'PUT') {
      const body = await readBody(req);
      if (!isObject(body)) throw statusError(400, 'BadRequest', 'the request body must be an object');
      const obj = body as KObject;
      if (!isObject(obj.metadata) || obj.metadata.name !== name) throw statusError(400, 'BadRequest', `the name of the object (${String(isObject(obj.metadata) ? obj.metadata.name : '')}) does not match the name on the URL (${name})`);
      if (type.namespaced) obj.metadata.namespace = namespace;
      sendJson(res, 200, cluster.update(type, obj, { manager, subresource: sub }));
      return;
    }
    if (method === 'PATCH') {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
      const patchType = PATCH_TYPES[contentType];
      if (!patchType) throw statusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`);
      const force = url.searchParams.get('force') === 'true';
      if (force && patchType !== 'apply') throw statusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
      const body = await readBody(req, patchType === 'apply');
      const existed = cluster.store.get(type, namespace, name) !== undefined;
      const obj = cluster.patch(type, namespace, name, patchType, body, { manager: url.searchParams.get('fieldManager') ?? (patchType === 'apply' ? '' : manager), subresource: sub, force });
      sendJson(res, existed ? 200 : 201, obj);
      return;
    }
    if (method === 'DELETE') {
      const deleted = cluster.delete(type, namespace, name);
      sendJson(res, 200, type.kind === 'Namespace' ? { ...deleted, status: { phase: 'Terminating' } } : deleted);
      return;
    }
  }

  function matcher(url: URL, namespace: string | undefined): (obj: KObject) => boolean {
    const labels = labelMatcher(url.searchParams.get('labelSelector'));
    const fields = fieldMatcher(url.searchParams.get('fieldSelector'));
    return (obj) => (!namespace || obj.metadata.namespace === namespace) && labels(obj) && fields(obj);
  }

  function serveWatch(type: ResourceType, url: URL, res: ServerResponse, matches: (obj: KObject) => boolean, req: IncomingMessage): void {
    const rvParam = url.searchParams.get('resourceVersion');
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (from !== undefined && Number.isNaN(from)) throw statusError(400, 'BadRequest', `invalid resource version: ${rvParam}`);
    const queued: string[] = [];
    let started = false;
    let unsubscribe: () => void = () => {};
    // subscribing first (it throws 410 for a resourceVersion older than the history) keeps
    // the error a real HTTP error rather than a half-written stream
    unsubscribe = cluster.store.subscribe(from, (event) => {
      if (event.resource !== type || !matches(event.object)) return;
      queued.push(JSON.stringify({ type: event.type, object: event.object }) + '\n');
      flush();
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    started = true;
    if (from === undefined) {
      // no resourceVersion: the current state as ADDED events, then changes
      queued.unshift(...cluster.store.list(type).filter(matches).map((obj) => JSON.stringify({ type: 'ADDED', object: obj }) + '\n'));
    }
    function flush(): void {
      if (started && !res.writableEnded) while (queued.length) res.write(queued.shift());
    }
    flush();
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const lifetimeMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : (watchLifetimeMs ?? 0);
    const timer = lifetimeMs > 0 ? setTimeout(() => res.end(), lifetimeMs) : undefined;
    const stop = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
    req.on('close', stop);
    res.on('close', stop);
    res.on('finish', stop);
  }

  return server;
}

function toScale(type: ResourceType, obj: KObject): unknown {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const status = isObject(obj.status) ? obj.status : {};
  const selector = isObject(spec.selector) && isObject(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: Object.entries(selector).map(([k, v]) => `${k}=${String(v)}`).join(',') },
  };
  void type;
}

async function readBody(req: IncomingMessage, yaml = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw statusError(400, 'BadRequest', `the body of the request could not be decoded: ${(err as Error).message}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export type { Status };
