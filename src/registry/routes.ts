// The /v2/ HTTP surface of the OCI Distribution Spec v1.1 on plain node:http: picks the
// endpoint, checks names and access, and speaks the headers clients (docker, skopeo, crane,
// containerd) expect. Storage, uploads, manifests and auth do the work.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { Action, Need, RegistryAuth } from './auth.js';
import { RegistryError, sendError } from './errors.js';
import {
  API_VERSION,
  contentLength,
  hasBody,
  headerString,
  isClientGone,
  paginate,
  parseByteRange,
  parseContentRange,
  readBody,
  sendEmpty,
  sendFileRange,
  sendJson,
} from './http.js';
import { descriptorJson, MANIFEST_MAX_BYTES, MEDIA_TYPES, parseManifest } from './manifests.js';
import { checkName, isValidName, parseDigest, parseLookupReference, parseReference, tryParseDigest, type Digest } from './names.js';
import type { Storage } from './storage.js';
import { rangeHeaders, type Uploads } from './uploads.js';

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => Promise<void>;
interface RouteContext {
  name: string;
  /** The last path segment after the endpoint (a reference, digest or upload id). */
  param: string;
  query: URLSearchParams;
}

export class RegistryRoutes {
  private readonly table: Array<{ pattern: RegExp; methods: Record<string, Handler> }>;

  constructor(
    private readonly storage: Storage,
    private readonly uploads: Uploads,
    private readonly auth: RegistryAuth,
    private readonly log: (message: string) => void,
  ) {
    // Names hold '/', so endpoints are found from the end of the path; the greedy name group
    // then takes everything before. Upload routes come first: `…/blobs/uploads/` ends like a blob.
    this.table = [
      { pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, methods: { POST: this.startUpload } },
      {
        pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
        methods: { GET: this.uploadStatus, PATCH: this.patchUpload, PUT: this.putUpload, DELETE: this.deleteUpload },
      },
      { pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: { GET: this.getBlob, HEAD: this.getBlob, DELETE: this.deleteBlob } },
      {
        pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
        methods: { GET: this.getManifest, HEAD: this.getManifest, PUT: this.putManifest, DELETE: this.deleteManifest },
      },
      { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: { GET: this.listTags } },
      { pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: this.listReferrers } },
    ];
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.dispatch(req, res);
    } catch (err) {
      if (err instanceof RegistryError) {
        sendError(res, err);
        return;
      }
      // a client that went away mid-download is not a registry failure: nothing to report
      if (res.headersSent && isClientGone(err)) {
        res.destroy();
        return;
      }
      this.log(`registry: ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) {
        const body = JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'internal error' }] });
        res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...API_VERSION });
        res.end(body);
      } else {
        res.destroy();
      }
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The raw path, not a WHATWG URL: URL parsing resolves `..`, and a name containing `..`
    // must reach the name check (and fail it) rather than be quietly re-pointed elsewhere.
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const url = { searchParams: new URLSearchParams(queryAt < 0 ? '' : raw.slice(queryAt + 1)) };
    const method = req.method ?? 'GET';

    if (pathname === '/v2' || pathname === '/v2/') {
      if (method !== 'GET' && method !== 'HEAD') throw unsupportedMethod(method);
      await this.auth.authorize(req, { kind: 'base' });
      return sendJson(res, 200, {});
    }
    if (pathname === '/v2/token') {
      if (method !== 'GET') throw unsupportedMethod(method);
      return sendJson(res, 200, await this.auth.issueToken(req, url.searchParams), { 'Cache-Control': 'no-store' });
    }
    if (pathname === '/v2/_catalog') {
      if (method !== 'GET') throw unsupportedMethod(method);
      return this.catalog(req, res, url.searchParams);
    }
    for (const route of this.table) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      const handler = route.methods[method];
      if (!handler) throw unsupportedMethod(method);
      const name = checkName(decodeSegment(m[1] ?? ''));
      return handler.call(this, req, res, { name, param: decodeSegment(m[2] ?? ''), query: url.searchParams });
    }
    throw new RegistryError('UNSUPPORTED', { reason: 'no such endpoint', path: pathname }, 404);
  }

  private async need(req: IncomingMessage, name: string, ...actions: Action[]): Promise<void> {
    await this.auth.authorize(req, { kind: 'repository', name, actions });
  }

  private async permits(req: IncomingMessage, need: Need): Promise<boolean> {
    try {
      await this.auth.authorize(req, need);
      return true;
    } catch (err) {
      if (err instanceof RegistryError) return false;
      throw err;
    }
  }

  // --- blobs ----------------------------------------------------------------------------------

  private async getBlob(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'pull');
    const d = parseDigest(param);
    const size = await this.storage.layerSize(name, d);
    if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', { digest: d.text });
    const headers: OutgoingHttpHeaders = {
      ...API_VERSION,
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': d.text,
      'Accept-Ranges': 'bytes',
      ETag: `"${d.text}"`,
      // content-addressed: the bytes behind a digest never change
      'Cache-Control': 'max-age=31536000',
    };
    const range = parseByteRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    if (range) {
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1 });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': size });
    }
    if (req.method === 'HEAD' || size === 0 || end < start) {
      res.end();
      return;
    }
    await sendFileRange(this.storage.paths.blob(d), res, start, end);
  }

  private async deleteBlob(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'delete');
    const d = parseDigest(param);
    if (!(await this.storage.unlinkLayer(name, d))) throw new RegistryError('BLOB_UNKNOWN', { digest: d.text });
    sendEmpty(res, 202, { 'Docker-Content-Digest': d.text });
  }

  // --- uploads --------------------------------------------------------------------------------

  private async startUpload(req: IncomingMessage, res: ServerResponse, { name, query }: RouteContext): Promise<void> {
    const mount = mountRequest(query);
    // A 401 asks for pull on the mount's source as well, so the token the client fetches from the
    // challenge covers the mount (reggie, the conformance suite's client, asks for just that scope).
    const alsoAsk = mount && mount.from !== name ? [{ name: mount.from, actions: ['pull' as const] }] : [];
    await this.auth.authorize(req, { kind: 'repository', name, actions: ['pull', 'push'] }, alsoAsk);
    if (mount && (await this.mount(req, name, mount.from, mount.digest))) {
      sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${mount.digest.text}`, 'Docker-Content-Digest': mount.digest.text });
      return;
    }
    // spec: when the mount cannot happen (no pull on the source, no such blob there), answer as a
    // plain upload start (202)
    const digestParam = query.get('digest');
    const digest = digestParam !== null ? parseDigest(digestParam) : undefined;
    const session = await this.uploads.start(name);
    if (digest) {
      // monolithic: the whole blob in this one request
      try {
        await this.uploads.append(session, req, undefined, contentLength(req));
        await this.uploads.complete(session, digest);
      } catch (err) {
        await this.uploads.cancel(session);
        throw err;
      }
      sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest.text}`, 'Docker-Content-Digest': digest.text });
      return;
    }
    sendEmpty(res, 202, { ...rangeHeaders(session), Range: '0-0' });
  }

  private async mount(req: IncomingMessage, name: string, from: string, d: Digest): Promise<boolean> {
    // permission first: whether the blob exists in `from` is itself not to be told without it
    if (!(await this.permits(req, { kind: 'repository', name: from, actions: ['pull'] }))) return false;
    if ((await this.storage.layerSize(from, d)) === undefined) return false;
    await this.storage.linkLayer(name, d);
    await this.storage.touchBlob(d);
    return true;
  }

  private async uploadStatus(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'push');
    const session = await this.uploads.get(name, param);
    sendEmpty(res, 204, rangeHeaders(session));
  }

  private async patchUpload(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'push');
    const session = await this.uploads.get(name, param);
    await this.uploads.append(session, req, parseContentRange(req, session.sizeBytes), contentLength(req));
    sendEmpty(res, 202, rangeHeaders(session));
  }

  private async putUpload(req: IncomingMessage, res: ServerResponse, { name, param, query }: RouteContext): Promise<void> {
    await this.need(req, name, 'push');
    const session = await this.uploads.get(name, param);
    const digestParam = query.get('digest');
    if (digestParam === null) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required');
    const digest = parseDigest(digestParam);
    if (hasBody(req)) {
      await this.uploads.append(session, req, parseContentRange(req, session.sizeBytes), contentLength(req));
    }
    await this.uploads.complete(session, digest);
    sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest.text}`, 'Docker-Content-Digest': digest.text });
  }

  private async deleteUpload(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'push');
    const session = await this.uploads.get(name, param);
    await this.uploads.cancel(session);
    sendEmpty(res, 204, {});
  }

  // --- manifests ------------------------------------------------------------------------------

  private async getManifest(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'pull');
    const ref = parseLookupReference(param);
    const d = ref === undefined ? undefined : ref.kind === 'digest' ? ref.digest : await this.storage.resolveTag(name, ref.tag);
    const manifest = d ? await this.storage.readManifest(name, d) : undefined;
    if (!d || !manifest) {
      if (!(await this.storage.repositoryExists(name))) throw new RegistryError('NAME_UNKNOWN', { name });
      throw new RegistryError('MANIFEST_UNKNOWN', { name, reference: param });
    }
    res.writeHead(200, {
      ...API_VERSION,
      'Content-Type': manifest.mediaType,
      'Content-Length': manifest.bytes.length,
      'Docker-Content-Digest': d.text,
      ETag: `"${d.text}"`,
    });
    res.end(req.method === 'HEAD' ? undefined : manifest.bytes);
  }

  private async putManifest(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'pull', 'push');
    const ref = parseReference(param);
    const bytes = await readBody(req, MANIFEST_MAX_BYTES);
    const algorithm = ref.kind === 'digest' ? ref.digest.algorithm : 'sha256';
    const d = parseDigest(`${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`);
    if (ref.kind === 'digest' && ref.digest.hex !== d.hex) {
      throw new RegistryError('DIGEST_INVALID', { expected: ref.digest.text, actual: d.text });
    }
    const manifest = parseManifest(bytes, headerString(req.headers['content-type']));

    // Everything the manifest points at must already be in this repository; touching each one
    // tells a concurrent gc that it is in use right now.
    for (const blob of manifest.blobs) {
      const size = await this.storage.layerSize(name, blob.digest);
      if (size === undefined) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: blob.digest.text });
      if (size !== blob.size) {
        throw new RegistryError('MANIFEST_INVALID', { reason: 'descriptor size differs from the blob', digest: blob.digest.text, size: blob.size, actual: size });
      }
      await this.storage.touchBlob(blob.digest);
    }
    for (const child of manifest.children) {
      if (!(await this.storage.readManifest(name, child.digest))) {
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: child.digest.text, reason: 'index entry not in repository' });
      }
      await this.storage.touchBlob(child.digest);
    }

    await this.storage.writeBlob(d, bytes);
    await this.storage.linkManifest(name, d, manifest.mediaType);
    if (manifest.subject) await this.storage.linkReferrer(name, manifest.subject.digest, d);
    if (ref.kind === 'tag') await this.storage.writeTag(name, ref.tag, d);
    const headers: OutgoingHttpHeaders = { Location: `/v2/${name}/manifests/${d.text}`, 'Docker-Content-Digest': d.text };
    if (manifest.subject) headers['OCI-Subject'] = manifest.subject.digest.text;
    sendEmpty(res, 201, headers);
  }

  private async deleteManifest(req: IncomingMessage, res: ServerResponse, { name, param }: RouteContext): Promise<void> {
    await this.need(req, name, 'delete');
    const ref = parseLookupReference(param);
    if (!ref) throw new RegistryError('MANIFEST_UNKNOWN', { name, reference: param });
    if (ref.kind === 'tag') {
      if (!(await this.storage.deleteTag(name, ref.tag))) throw new RegistryError('MANIFEST_UNKNOWN', { name, reference: ref.tag });
      sendEmpty(res, 202, {});
      return;
    }
    const d = ref.digest;
    const manifest = await this.storage.readManifest(name, d);
    if (!manifest) throw new RegistryError('MANIFEST_UNKNOWN', { name, reference: d.text });
    // tags first: a tag must never point at a manifest the repository no longer has
    for (const tag of (await this.storage.listTags(name)) ?? []) {
      if ((await this.storage.resolveTag(name, tag))?.text === d.text) await this.storage.deleteTag(name, tag);
    }
    try {
      const parsed = parseManifest(manifest.bytes, manifest.mediaType);
      if (parsed.subject) await this.storage.unlinkReferrer(name, parsed.subject.digest, d);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
    }
    await this.storage.unlinkManifest(name, d);
    sendEmpty(res, 202, {});
  }

  // --- listings -------------------------------------------------------------------------------

  private async listTags(req: IncomingMessage, res: ServerResponse, { name, query }: RouteContext): Promise<void> {
    await this.need(req, name, 'pull');
    const tags = await this.storage.listTags(name);
    if (!tags) throw new RegistryError('NAME_UNKNOWN', { name });
    const page = paginate(tags, query);
    const headers: OutgoingHttpHeaders = {};
    if (page.next) headers.Link = `</v2/${name}/tags/list?n=${page.n}&last=${encodeURIComponent(page.next)}>; rel="next"`;
    sendJson(res, 200, { name, tags: page.items }, headers);
  }

  private async catalog(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    await this.auth.authorize(req, { kind: 'catalog' });
    const page = paginate(await this.storage.listRepositories(), query);
    const headers: OutgoingHttpHeaders = {};
    if (page.next) headers.Link = `</v2/_catalog?n=${page.n}&last=${encodeURIComponent(page.next)}>; rel="next"`;
    sendJson(res, 200, { repositories: page.items }, headers);
  }

  private async listReferrers(req: IncomingMessage, res: ServerResponse, { name, param, query }: RouteContext): Promise<void> {
    await this.need(req, name, 'pull');
    const subject = parseDigest(param);
    const artifactType = query.get('artifactType');
    const manifests: Array<Record<string, unknown>> = [];
    for (const d of await this.storage.listReferrers(name, subject)) {
      const stored = await this.storage.readManifest(name, d);
      if (!stored) continue;
      let parsed;
      try {
        parsed = parseManifest(stored.bytes, stored.mediaType);
      } catch {
        continue;
      }
      if (artifactType !== null && parsed.artifactType !== artifactType) continue;
      manifests.push(
        descriptorJson({
          mediaType: parsed.mediaType,
          digest: d,
          size: stored.bytes.length,
          ...(parsed.artifactType !== undefined ? { artifactType: parsed.artifactType } : {}),
          ...(parsed.annotations !== undefined ? { annotations: parsed.annotations } : {}),
        }),
      );
    }
    manifests.sort((a, b) => String(a.digest).localeCompare(String(b.digest)));
    const headers: OutgoingHttpHeaders = { 'Content-Type': MEDIA_TYPES.ociIndex };
    if (artifactType !== null) headers['OCI-Filters-Applied'] = 'artifactType';
    sendJson(res, 200, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }, headers);
  }
}

/** `?mount=<digest>&from=<name>` when both are well formed; otherwise there is nothing to mount. */
function mountRequest(query: URLSearchParams): { from: string; digest: Digest } | undefined {
  const mount = query.get('mount');
  const from = query.get('from');
  if (mount === null || from === null || !isValidName(from)) return undefined;
  const digest = tryParseDigest(mount);
  return digest ? { from, digest } : undefined;
}

function unsupportedMethod(method: string): RegistryError {
  return new RegistryError('UNSUPPORTED', { method }, 405);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RegistryError('NAME_INVALID', { segment: s });
  }
}
