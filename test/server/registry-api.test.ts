// The registry through the JSON API, against a real server whose registry real images were pushed
// to by the Docker engine: repositories with tag counts; tags with digest, size as the manifests
// declare it, created time, platform and the environments whose current revision runs that digest
// (pinned by digest, or by a tag of this registry); tag deletion for admins only, audited, which
// leaves the manifest pullable by digest; 404s for what is not there; hostile names refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RegistryRepositories, RegistryTagList } from '../../src/api/schemas.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';
import { forgetLocalImages, pushLocalImage, type PushedImage } from './registry-images.js';
import { testServer, type TestServer } from './support.js';

type ErrorBody = { error: { code: string; message: string; fields?: Array<{ field: string }> } };
type Rollout = { id: string; status: string };

const FAST = { health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '20s' } };
const basic = (token: string): string => `Basic ${Buffer.from(`t:${token}`).toString('base64')}`;
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

describe('the registry through the API (GET /api/registry/repositories, GET and DELETE /api/registry/tags)', { timeout: 300_000 }, () => {
  let server: TestServer;
  let reader = '';
  let v1: PushedImage;
  let v2: PushedImage;
  const tags = (repository: string, token = server.token) => server.api<RegistryTagList & ErrorBody>(`/api/registry/tags?repository=${encodeURIComponent(repository)}`, { token });
  const deleteTag = (repository: string, tag: string, token = server.token) =>
    server.api<{ ok: true; digest: string } & ErrorBody>(`/api/registry/tags?repository=${encodeURIComponent(repository)}&tag=${encodeURIComponent(tag)}`, { method: 'DELETE', token });
  const deploy = async (environment: string, image: string): Promise<void> => {
    const started = await server.api<Rollout>(`/api/apps/web/environments/${environment}/deploy`, { method: 'POST', body: { ...FAST, image, replicas: 1, port: 8080 } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal((await server.rolloutEnded<Rollout>(started.body.id)).status, 'healthy');
  };

  before(async () => {
    [server] = await Promise.all([testServer(), buildImages()]);
    reader = await server.tokenWith(['read'], 'viewer');
    v1 = await pushLocalImage(server, IMAGES.v1, 'shop/web', 'v1');
    v2 = await pushLocalImage(server, IMAGES.v2, 'shop/web', 'v2');
    // staging runs v1 pinned by digest; production runs v2 by its tag in this registry
    await deploy('staging', v1.pinned);
    await deploy('production', v2.reference);
  });

  after(async () => {
    await server?.stop();
    await forgetLocalImages([v1, v2].filter(Boolean));
  });

  it('lists repositories with their tag counts, for a read token too', async () => {
    const res = await server.api<RegistryRepositories>('/api/registry/repositories', { token: reader });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.repositories, [{ name: 'shop/web', tagCount: 2 }]);
    assert.equal(res.body.truncated, false);
  });

  it("answers each tag's digest, media type, size (manifest + config + layers), created time, platform and the environments running it", async () => {
    const res = await tags('shop/web', reader);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.repository, 'shop/web');
    assert.equal(res.body.tagCount, 2);
    assert.equal(res.body.environmentsUnavailable, undefined);
    assert.deepEqual(res.body.tags.map((t) => t.tag).sort(), ['v1', 'v2']);
    const tag1 = res.body.tags.find((t) => t.tag === 'v1');
    const tag2 = res.body.tags.find((t) => t.tag === 'v2');
    assert.ok(tag1 && tag2);
    assert.equal(tag1.digest, v1.digest);
    assert.equal(tag1.kind, 'image');
    assert.ok(MANIFEST_TYPES.includes(tag1.mediaType), tag1.mediaType);

    // the size the manifest declares, read back from the registry itself
    const manifest = await fetch(`${server.url}/v2/shop/web/manifests/${v1.digest}`, { headers: { Authorization: basic(server.token), Accept: MANIFEST_TYPES.join(', ') } });
    const bytes = Buffer.from(await manifest.arrayBuffer());
    const doc = JSON.parse(bytes.toString('utf8')) as { config: { size: number }; layers: Array<{ size: number; digest: string }> };
    const layers = new Map(doc.layers.map((l) => [l.digest, l.size]));
    assert.equal(tag1.sizeBytes, bytes.length + doc.config.size + [...layers.values()].reduce((a, b) => a + b, 0));
    assert.ok(tag1.createdAtMs !== undefined && tag1.createdAtMs > Date.parse('2020-01-01') && tag1.createdAtMs <= Date.now() + 60_000, `created ${tag1.createdAtMs}`);
    assert.equal(tag1.platforms[0]?.os, 'linux');
    assert.ok(tag1.taggedAtMs !== undefined && Math.abs(tag1.taggedAtMs - Date.now()) < 10 * 60_000);

    assert.deepEqual(tag1.environments, [{ app: 'web', environment: 'staging', revision: 1, image: v1.pinned, matchedBy: 'digest' }]);
    assert.deepEqual(tag2.environments, [{ app: 'web', environment: 'production', revision: 1, image: v2.reference, matchedBy: 'tag' }]);
  });

  it('a limit answers fewer tags and says the list is truncated; a limit out of range is a 422', async () => {
    const one = await server.api<RegistryTagList>('/api/registry/tags?repository=shop/web&limit=1');
    assert.equal(one.status, 200);
    assert.equal(one.body.tags.length, 1);
    assert.equal(one.body.truncated, true);
    for (const limit of ['0', '5000', 'x']) {
      const bad = await server.api<ErrorBody>(`/api/registry/tags?repository=shop/web&limit=${limit}`);
      assert.equal(bad.status, 422, `${limit}: ${JSON.stringify(bad.body)}`);
    }
  });

  it('404 for a repository or tag the registry does not have', async () => {
    const unknown = await tags('shop/nothing');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'REGISTRY_NAME_UNKNOWN');
    const noTag = await deleteTag('shop/web', 'v9');
    assert.equal(noTag.status, 404);
    assert.equal(noTag.body.error.code, 'REGISTRY_TAG_UNKNOWN');
    assert.equal((await deleteTag('shop/nothing', 'v1')).status, 404);
  });

  it('refuses names that are not repository names or tags with a 422 naming the field, touching nothing', async () => {
    for (const name of ['../../etc', 'shop/../shop/web', 'Shop/Web', '/shop/web', 'shop//web', 'shop/web/_manifests', 'a'.repeat(300), '%2e%2e/x', 'shop/web\u0000']) {
      const res = await tags(name);
      assert.equal(res.status, 422, `${JSON.stringify(name)}: ${JSON.stringify(res.body)}`);
      assert.ok(['REGISTRY_NAME_INVALID', 'REGISTRY_QUERY_INVALID'].includes(res.body.error.code), res.body.error.code);
      assert.equal(res.body.error.fields?.[0]?.field, 'repository');
      assert.equal((await deleteTag(name, 'v1')).status, 422);
    }
    for (const tag of ['../v1', '.', '..', 'v1/../v2', '-v1', 'a'.repeat(129)]) {
      const res = await deleteTag('shop/web', tag);
      assert.equal(res.status, 422, `${tag}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'REGISTRY_QUERY_INVALID');
    }
    const missing = await server.api<ErrorBody>('/api/registry/tags');
    assert.equal(missing.status, 422);
    assert.equal((await tags('shop/web')).body.tagCount, 2, 'nothing was deleted');
  });

  it('a read token may not delete a tag (403, nothing changes); an admin deletes it: audited, the manifest stays pullable by digest', async () => {
    const refused = await deleteTag('shop/web', 'v1', reader);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'AUTH_SCOPE');
    assert.equal((await tags('shop/web')).body.tagCount, 2);

    const deleted = await deleteTag('shop/web', 'v1');
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(deleted.body, { ok: true, repository: 'shop/web', tag: 'v1', digest: v1.digest });
    const remaining = await tags('shop/web');
    assert.deepEqual(remaining.body.tags.map((t) => t.tag), ['v2']);
    assert.equal((await deleteTag('shop/web', 'v1')).status, 404, 'a second delete finds nothing');

    const [event] = await server.store.listAudit({ subject: 'shop/web:v1' });
    assert.equal(event?.action, 'registry.tag.delete');
    assert.equal(event?.actor, 'admin');
    assert.deepEqual(event?.details, { digest: v1.digest });

    const byDigest = await fetch(`${server.url}/v2/shop/web/manifests/${v1.digest}`, { method: 'HEAD', headers: { Authorization: basic(server.token), Accept: MANIFEST_TYPES.join(', ') } });
    assert.equal(byDigest.status, 200, 'the manifest is still there by digest (gc decides about blobs)');
    const byTag = await fetch(`${server.url}/v2/shop/web/manifests/v1`, { method: 'HEAD', headers: { Authorization: basic(server.token) } });
    assert.equal(byTag.status, 404);
  });
});
