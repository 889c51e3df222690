// The OCI Distribution Spec v1.1 endpoints driven over HTTP with fetch: pushes (monolithic and
// chunked), pulls, ranges, mounts, listings, deletion, referrers, and the spec's error codes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, errorCode, rawRequest, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, sha256, startRegistry, type TestRegistry } from './support.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg.close();
});

describe('registry over HTTP', () => {
  test('a monolithic blob push is pullable by digest, with HEAD and Range answers', async () => {
    const data = Buffer.from('hello, registry');
    const { digest } = await pushBlob(reg, 'mono/app', data);
    const head = await call(reg, 'HEAD', `/v2/mono/app/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    assert.equal(head.headers.get('docker-content-digest'), digest);
    const get = await call(reg, 'GET', `/v2/mono/app/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
    const ranged = await call(reg, 'GET', `/v2/mono/app/blobs/${digest}`, { headers: { range: 'bytes=7-14' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 7-14/${data.length}`);
    assert.equal(await ranged.text(), 'registry');
    const beyond = await call(reg, 'GET', `/v2/mono/app/blobs/${digest}`, { headers: { range: 'bytes=100-200' } });
    assert.equal(beyond.status, 416);
    await beyond.arrayBuffer();
  });

  test('POST then PUT with the whole body pushes a blob (Location, Range, Docker-Upload-UUID)', async () => {
    const start = await call(reg, 'POST', '/v2/postput/app/blobs/uploads/');
    assert.equal(start.status, 202);
    const location = start.headers.get('location');
    assert.ok(location?.startsWith('/v2/postput/app/blobs/uploads/'));
    assert.ok(start.headers.get('docker-upload-uuid'));
    assert.equal(start.headers.get('range'), '0-0');
    const data = Buffer.from('post then put');
    const put = await call(reg, 'PUT', `${location}?digest=${sha256(data)}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `/v2/postput/app/blobs/${sha256(data)}`);
    assert.equal(put.headers.get('docker-content-digest'), sha256(data));
  });

  test('a chunked upload takes PATCHes in order, reports its status, refuses out-of-order chunks with 416', async () => {
    const parts = [Buffer.alloc(1000, 1), Buffer.alloc(500, 2), Buffer.alloc(3, 3)];
    const whole = Buffer.concat(parts);
    const start = await call(reg, 'POST', '/v2/chunked/app/blobs/uploads/');
    let location = start.headers.get('location') ?? '';
    let offset = 0;
    for (const part of parts.slice(0, 2)) {
      const res = await call(reg, 'PATCH', location, {
        body: part,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + part.length - 1}` },
      });
      assert.equal(res.status, 202);
      offset += part.length;
      assert.equal(res.headers.get('range'), `0-${offset - 1}`);
      location = res.headers.get('location') ?? '';
    }
    const status = await call(reg, 'GET', location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${offset - 1}`);
    const outOfOrder = await call(reg, 'PATCH', location, { body: Buffer.alloc(10), headers: { 'content-range': '0-9' } });
    assert.equal(outOfOrder.status, 416);
    assert.equal(outOfOrder.headers.get('range'), `0-${offset - 1}`);
    await outOfOrder.arrayBuffer();
    const last = parts[2] ?? Buffer.alloc(0);
    const put = await call(reg, 'PUT', `${location}?digest=${sha256(whole)}`, {
      body: last,
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + last.length - 1}` },
    });
    assert.equal(put.status, 201);
    const get = await call(reg, 'GET', `/v2/chunked/app/blobs/${sha256(whole)}`);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), whole);
  });

  test('a streamed PATCH without Content-Range (what docker sends) then an empty PUT completes', async () => {
    const data = Buffer.alloc(300_000, 7);
    const start = await call(reg, 'POST', '/v2/streamed/app/blobs/uploads/');
    const patch = await call(reg, 'PATCH', start.headers.get('location') ?? '', { body: data });
    assert.equal(patch.status, 202);
    const put = await call(reg, 'PUT', `${patch.headers.get('location')}?digest=${sha256(data)}`);
    assert.equal(put.status, 201);
  });

  test('DELETE of an upload cancels it and the upload is unknown afterwards', async () => {
    const start = await call(reg, 'POST', '/v2/cancel/app/blobs/uploads/');
    const location = start.headers.get('location') ?? '';
    await call(reg, 'PATCH', location, { body: 'abc' });
    assert.equal((await call(reg, 'DELETE', location)).status, 204);
    const status = await call(reg, 'GET', location);
    assert.equal(status.status, 404);
    assert.equal(await errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('a wrong digest is DIGEST_INVALID and nothing becomes visible', async () => {
    const data = Buffer.from('some bytes');
    const wrong = sha256('other bytes');
    const res = await call(reg, 'POST', `/v2/neg/app/blobs/uploads/?digest=${wrong}`, { body: data });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    const head = await call(reg, 'HEAD', `/v2/neg/app/blobs/${wrong}`);
    assert.equal(head.status, 404);
    const malformed = await call(reg, 'POST', '/v2/neg/app/blobs/uploads/?digest=sha256:nothex', { body: data });
    assert.equal(await errorCode(malformed), 'DIGEST_INVALID');
    const uploads = await readdir(path.join(reg.dataDir, 'uploads')).catch(() => []);
    assert.deepEqual(uploads, []);
  });

  test('an unknown blob is BLOB_UNKNOWN, a blob of another repository too', async () => {
    const res = await call(reg, 'GET', `/v2/neg/app/blobs/${sha256('never pushed')}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
    const { digest } = await pushBlob(reg, 'private/one', 'only in one');
    const other = await call(reg, 'GET', `/v2/private/two/blobs/${digest}`);
    assert.equal(await errorCode(other), 'BLOB_UNKNOWN');
  });

  test('bad names are NAME_INVALID, path traversal included', async () => {
    for (const name of ['Upper/case', 'a/../../etc', '../../../etc', 'trailing-', '_x', 'a//b', '%2e%2e/x', 'a/%2F/b']) {
      const res = await rawRequest(reg, 'GET', `/v2/${name}/tags/list`);
      assert.equal(res.status, 400, name);
      assert.equal((JSON.parse(res.body) as { errors: Array<{ code: string }> }).errors[0]?.code, 'NAME_INVALID', name);
    }
    // `..` is no tag: a read finds nothing (404, as the spec's conformance suite expects), a write is refused
    const tag = await rawRequest(reg, 'GET', '/v2/ok/name/manifests/..');
    assert.equal(tag.status, 404);
    const put = await rawRequest(reg, 'PUT', '/v2/ok/name/manifests/..');
    assert.equal(put.status, 400);
    assert.equal((JSON.parse(put.body) as { errors: Array<{ code: string }> }).errors[0]?.code, 'MANIFEST_INVALID');
  });

  test('a chunk whose length disagrees with its Content-Range is SIZE_INVALID and is not kept', async () => {
    const start = await call(reg, 'POST', '/v2/neg/size/blobs/uploads/');
    const location = start.headers.get('location') ?? '';
    const res = await call(reg, 'PATCH', location, { body: Buffer.alloc(50), headers: { 'content-range': '0-99' } });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'SIZE_INVALID');
    const status = await call(reg, 'GET', location);
    assert.equal(status.headers.get('range'), '0-0');
  });

  test('a body that breaks off mid-upload leaves the upload where it was and no blob visible', async () => {
    const start = await call(reg, 'POST', '/v2/neg/broken/blobs/uploads/');
    const location = start.headers.get('location') ?? '';
    const url = new URL(reg.url + location);
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'PATCH',
        headers: { 'content-length': 1_000_000, authorization: `Basic ${Buffer.from('x:admin-secret-token').toString('base64')}` },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(100_000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    // poll until the server has noticed the broken body and rolled the upload back
    const deadline = Date.now() + 5000;
    let range: string | null = null;
    while (Date.now() < deadline) {
      const status = await call(reg, 'GET', location);
      range = status.headers.get('range');
      if (status.status === 204 && range === '0-0') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(range, '0-0');
  });

  test('cross-repository mount links a blob without uploading; a failed mount starts an upload', async () => {
    const { digest } = await pushBlob(reg, 'mount/src', 'mounted content');
    const res = await call(reg, 'POST', `/v2/mount/dst/blobs/uploads/?mount=${digest}&from=mount/src`);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mount/dst/blobs/${digest}`);
    assert.equal((await call(reg, 'HEAD', `/v2/mount/dst/blobs/${digest}`)).status, 200);
    const miss = await call(reg, 'POST', `/v2/mount/dst/blobs/uploads/?mount=${sha256('absent')}&from=mount/src`);
    assert.equal(miss.status, 202);
    assert.ok(miss.headers.get('docker-upload-uuid'));
  });

  test('manifests: push by tag, pull by tag and digest, HEAD, and the checks on what they reference', async () => {
    const image = await pushImage(reg, 'man/app', 'v1');
    const byTag = await call(reg, 'GET', '/v2/man/app/manifests/v1', { headers: { accept: OCI_MANIFEST } });
    assert.equal(byTag.status, 200);
    assert.equal(byTag.headers.get('content-type'), OCI_MANIFEST);
    assert.equal(byTag.headers.get('docker-content-digest'), image.digest);
    assert.deepEqual(Buffer.from(await byTag.arrayBuffer()), image.bytes);
    const head = await call(reg, 'HEAD', `/v2/man/app/manifests/${image.digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(image.size));

    const missingLayer = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('nope'), size: 4 },
      layers: [],
    });
    const res = await call(reg, 'PUT', '/v2/man/app/manifests/broken', { body: missingLayer, headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
    const notJson = await call(reg, 'PUT', '/v2/man/app/manifests/broken', { body: '{nope', headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(await errorCode(notJson), 'MANIFEST_INVALID');
    const huge = await call(reg, 'PUT', '/v2/man/app/manifests/huge', { body: Buffer.alloc(4 * 1024 * 1024 + 1, 32), headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(huge.status, 413);
    assert.equal(await errorCode(huge), 'SIZE_INVALID');
    const wrongDigest = await call(reg, 'PUT', `/v2/man/app/manifests/${sha256('x')}`, { body: image.bytes, headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(await errorCode(wrongDigest), 'DIGEST_INVALID');
    const unknown = await call(reg, 'GET', '/v2/man/app/manifests/nosuchtag');
    assert.equal(await errorCode(unknown), 'MANIFEST_UNKNOWN');
    const noRepo = await call(reg, 'GET', '/v2/no/such/repo/manifests/latest');
    assert.equal(await errorCode(noRepo), 'NAME_UNKNOWN');
  });

  test('Docker schema 2 manifests and manifest lists are stored with their media type', async () => {
    const config = await pushBlob(reg, 'docker/app', '{"os":"linux"}', 'application/vnd.docker.container.image.v1+json');
    const layer = await pushBlob(reg, 'docker/app', 'layer', 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    const type = 'application/vnd.docker.distribution.manifest.v2+json';
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: type, config, layers: [layer] }));
    assert.equal((await call(reg, 'PUT', '/v2/docker/app/manifests/one', { body: manifest, headers: { 'content-type': type } })).status, 201);
    const listType = 'application/vnd.docker.distribution.manifest.list.v2+json';
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: listType,
      manifests: [{ mediaType: type, digest: sha256(manifest), size: manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
    });
    assert.equal((await call(reg, 'PUT', '/v2/docker/app/manifests/multi', { body: list, headers: { 'content-type': listType } })).status, 201);
    const got = await call(reg, 'GET', '/v2/docker/app/manifests/multi');
    assert.equal(got.headers.get('content-type'), listType);
    await got.arrayBuffer();
  });

  test('an OCI index needs its children in the repository', async () => {
    const a = await pushImage(reg, 'index/app', 'amd64');
    const b = await pushImage(reg, 'index/app', 'arm64');
    const index = (children: Array<{ digest: string; size: number }>): string =>
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.size })) });
    const ok = await call(reg, 'PUT', '/v2/index/app/manifests/latest', { body: index([a, b]), headers: { 'content-type': OCI_INDEX } });
    assert.equal(ok.status, 201);
    const missing = await call(reg, 'PUT', '/v2/index/app/manifests/bad', {
      body: index([a, { digest: sha256('no such manifest'), size: 10 }]),
      headers: { 'content-type': OCI_INDEX },
    });
    assert.equal(await errorCode(missing), 'MANIFEST_BLOB_UNKNOWN');
  });

  test('tags list and _catalog paginate with n and last and a Link header', async () => {
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushImage(reg, 'pages/app', tag, {}, 'same');
    const first = await call(reg, 'GET', '/v2/pages/app/tags/list?n=2');
    assert.deepEqual(await first.json(), { name: 'pages/app', tags: ['a', 'b'] });
    assert.equal(first.headers.get('link'), '</v2/pages/app/tags/list?n=2&last=b>; rel="next"');
    const rest = await call(reg, 'GET', '/v2/pages/app/tags/list?n=10&last=b');
    assert.deepEqual(await rest.json(), { name: 'pages/app', tags: ['c', 'd', 'e'] });
    assert.equal(rest.headers.get('link'), null);
    const unknown = await call(reg, 'GET', '/v2/pages/none/tags/list');
    assert.equal(await errorCode(unknown), 'NAME_UNKNOWN');

    const all = (await (await call(reg, 'GET', '/v2/_catalog')).json()) as { repositories: string[] };
    assert.ok(all.repositories.includes('pages/app'));
    assert.deepEqual(all.repositories, [...all.repositories].sort());
    const page = await call(reg, 'GET', '/v2/_catalog?n=1');
    assert.equal(((await page.json()) as { repositories: string[] }).repositories.length, 1);
    assert.match(page.headers.get('link') ?? '', /^<\/v2\/_catalog\?n=1&last=[^>]+>; rel="next"$/);
  });

  test('DELETE by tag removes only the tag; by digest removes the manifest and its tags; blobs delete', async () => {
    const image = await pushImage(reg, 'del/app', 'one');
    await call(reg, 'PUT', '/v2/del/app/manifests/two', { body: image.bytes, headers: { 'content-type': OCI_MANIFEST } });
    assert.equal((await call(reg, 'DELETE', '/v2/del/app/manifests/one')).status, 202);
    assert.equal((await call(reg, 'GET', '/v2/del/app/manifests/one')).status, 404);
    assert.equal((await call(reg, 'HEAD', `/v2/del/app/manifests/${image.digest}`)).status, 200);
    assert.equal((await call(reg, 'DELETE', `/v2/del/app/manifests/${image.digest}`)).status, 202);
    assert.equal((await call(reg, 'HEAD', `/v2/del/app/manifests/${image.digest}`)).status, 404);
    assert.deepEqual(await (await call(reg, 'GET', '/v2/del/app/tags/list')).json(), { name: 'del/app', tags: [] });
    const blob = await pushBlob(reg, 'del/app', 'to delete');
    assert.equal((await call(reg, 'DELETE', `/v2/del/app/blobs/${blob.digest}`)).status, 202);
    const gone = await call(reg, 'HEAD', `/v2/del/app/blobs/${blob.digest}`);
    assert.equal(gone.status, 404);
  });

  test('referrers: a manifest with a subject answers OCI-Subject and is listed, filterable by artifactType', async () => {
    const subject = await pushImage(reg, 'ref/app', 'v1');
    const subjectDescriptor = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size };
    const emptyConfig = await pushBlob(reg, 'ref/app', '{}', 'application/vnd.oci.empty.v1+json');
    const pushArtifact = async (artifactType: string, payload: string): Promise<string> => {
      const layer = await pushBlob(reg, 'ref/app', payload);
      const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: emptyConfig, layers: [layer], subject: subjectDescriptor, annotations: { kind: artifactType } });
      const res = await call(reg, 'PUT', `/v2/ref/app/manifests/${sha256(body)}`, { body, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), subject.digest);
      return sha256(body);
    };
    const sbom = await pushArtifact('application/spdx+json', 'sbom');
    const sig = await pushArtifact('application/vnd.dev.cosign.signature', 'sig');
    const all = await call(reg, 'GET', `/v2/ref/app/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), OCI_INDEX);
    const index = (await all.json()) as { manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [sbom, sig].sort());
    const filtered = await call(reg, 'GET', `/v2/ref/app/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    const only = (await filtered.json()) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    assert.deepEqual(only.manifests.map((m) => m.digest), [sbom]);
    assert.equal(only.manifests[0]?.annotations.kind, 'application/spdx+json');
    const none = await call(reg, 'GET', `/v2/ref/app/referrers/${sha256('unknown subject')}`);
    assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
  });

  test('concurrent pushes of the same blob and the same tag all succeed and leave one consistent value', async () => {
    const data = Buffer.alloc(200_000, 9);
    const results = await Promise.all(Array.from({ length: 8 }, () => pushBlob(reg, 'race/app', data)));
    assert.ok(results.every((r) => r.digest === sha256(data)));
    const images = await Promise.all(Array.from({ length: 6 }, (_, i) => pushImage(reg, 'race/app', 'latest', {}, `seed-${i}`)));
    const res = await call(reg, 'GET', '/v2/race/app/manifests/latest');
    assert.ok(images.some((i) => i.digest === res.headers.get('docker-content-digest')));
    await res.arrayBuffer();
    const tagFiles = await readdir(path.join(reg.dataDir, 'repositories', 'race', 'app', '_manifests', 'tags'));
    assert.deepEqual(tagFiles, ['latest']);
  });

  test('sha512 digests are accepted for blobs', async () => {
    const data = Buffer.from('sha512 content');
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const res = await call(reg, 'POST', `/v2/sha512/app/blobs/uploads/?digest=${digest}`, { body: data });
    assert.equal(res.status, 201);
    const get = await call(reg, 'GET', `/v2/sha512/app/blobs/${digest}`);
    assert.equal(await get.text(), 'sha512 content');
  });

  test('an unknown endpoint or method answers with an OCI error body', async () => {
    const res = await call(reg, 'POST', '/v2/some/app/tags/list');
    assert.equal(res.status, 405);
    assert.equal(await errorCode(res), 'UNSUPPORTED');
  });
});
