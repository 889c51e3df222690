// The catalog over a real store on disk: what a tag is (size as the manifests declare it, created
// time and platform from the config, an index summed over its children), newest tagged first, the
// bounds that keep a hostile repository from making one answer read without limit, and that
// deleting a tag removes the name only.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCatalog } from './catalog.js';
import { MEDIA_TYPES } from './manifests.js';
import { parseDigest, type Digest } from './names.js';
import { Storage } from './storage.js';

const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

let dir = '';
let storage: Storage;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-catalog-'));
  storage = new Storage(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function digestOf(bytes: Buffer): Digest {
  return parseDigest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
}

async function blob(repository: string, content: string | Buffer, mediaType = LAYER_TYPE): Promise<{ mediaType: string; digest: string; size: number }> {
  const bytes = Buffer.from(content);
  const d = digestOf(bytes);
  await storage.writeBlob(d, bytes);
  await storage.linkLayer(repository, d);
  return { mediaType, digest: d.text, size: bytes.length };
}

async function manifest(repository: string, doc: Record<string, unknown>, mediaType: string, tag?: string): Promise<{ digest: string; size: number; mediaType: string }> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const d = digestOf(bytes);
  await storage.writeBlob(d, bytes);
  await storage.linkManifest(repository, d, mediaType);
  if (tag) await storage.writeTag(repository, tag, d);
  return { digest: d.text, size: bytes.length, mediaType };
}

async function image(repository: string, tag: string | undefined, options: { created?: string; os?: string; architecture?: string; layers?: string[]; config?: string } = {}) {
  const config = await blob(repository, options.config ?? JSON.stringify({ created: options.created ?? '2026-01-02T03:04:05Z', os: options.os ?? 'linux', architecture: options.architecture ?? 'amd64', seed: `${repository}:${tag}` }), CONFIG_TYPE);
  const layers = await Promise.all((options.layers ?? [`layer of ${repository}:${tag}`]).map((l) => blob(repository, l)));
  const pushed = await manifest(repository, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers }, MEDIA_TYPES.ociManifest, tag);
  return { ...pushed, config, layers };
}

/** Sets when a tag was last pushed, as its link's modification time. */
async function taggedAt(repository: string, tag: string, atMs: number): Promise<void> {
  await utimes(storage.paths.tag(repository, tag), atMs / 1000, atMs / 1000);
}

describe('catalog', () => {
  test('repositories (nested names too) with their tag counts; a repository without tags counts 0', async () => {
    await image('cat/web', 'v1');
    await image('cat/web', 'v2');
    await image('cat/deep/api', 'latest');
    await image('cat/untagged', undefined);
    const { repositories, truncated, total } = await createCatalog(storage).listRepositories();
    assert.deepEqual(
      repositories.filter((r) => r.name.startsWith('cat/')),
      [
        { name: 'cat/deep/api', tagCount: 1 },
        { name: 'cat/untagged', tagCount: 0 },
        { name: 'cat/web', tagCount: 2 },
      ],
    );
    assert.equal(truncated, false);
    assert.equal(total, repositories.length);
  });

  test("an image tag: digest, media type, size = manifest + config + layers as declared, created and platform from its config", async () => {
    const pushed = await image('img/app', 'v1', { created: '2026-03-04T05:06:07.5Z', os: 'linux', architecture: 'arm64', layers: ['aaaa', 'bbbbbbbb'] });
    const list = await createCatalog(storage).listTags('img/app');
    assert.ok(list);
    const [tag] = list.tags;
    assert.ok(tag);
    assert.equal(tag.tag, 'v1');
    assert.equal(tag.digest, pushed.digest);
    assert.equal(tag.mediaType, MEDIA_TYPES.ociManifest);
    assert.equal(tag.kind, 'image');
    assert.equal(tag.sizeBytes, pushed.size + pushed.config.size + 4 + 8);
    assert.equal(tag.createdAtMs, Date.parse('2026-03-04T05:06:07.5Z'));
    assert.deepEqual(tag.platforms, [{ os: 'linux', architecture: 'arm64' }]);
    assert.equal(typeof tag.taggedAtMs, 'number');
    assert.equal(list.truncated, false);
    assert.equal(list.tagCount, 1);
  });

  test('an index: itself plus each child manifest and its blobs, a blob shared by children counted once; platforms from the index, attestations left out; created is the newest child', async () => {
    const shared = 'a base layer both platforms share';
    const amd = await image('multi/app', undefined, { architecture: 'amd64', created: '2026-01-01T00:00:00Z', layers: [shared, 'amd64 only'] });
    const arm = await image('multi/app', undefined, { architecture: 'arm64', created: '2026-02-01T00:00:00Z', layers: [shared, 'arm64 only!'] });
    const attestation = await manifest('multi/app', { schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: await blob('multi/app', '{}', 'application/vnd.in-toto+json'), layers: [] }, MEDIA_TYPES.ociManifest);
    const index = await manifest(
      'multi/app',
      {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          { mediaType: attestation.mediaType, digest: attestation.digest, size: attestation.size, platform: { os: 'unknown', architecture: 'unknown' } },
        ],
      },
      MEDIA_TYPES.ociIndex,
      'v1',
    );
    const [tag] = (await createCatalog(storage).listTags('multi/app'))?.tags ?? [];
    assert.ok(tag);
    assert.equal(tag.kind, 'index');
    assert.equal(tag.digest, index.digest);
    const layerBytes = Buffer.byteLength(shared) + Buffer.byteLength('amd64 only') + Buffer.byteLength('arm64 only!');
    assert.equal(tag.sizeBytes, index.size + amd.size + arm.size + attestation.size + amd.config.size + arm.config.size + 2 + layerBytes);
    assert.deepEqual(tag.platforms, [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    assert.equal(tag.createdAtMs, Date.parse('2026-02-01T00:00:00Z'));
  });

  test('tags come newest tagged first; a limit answers that many and says the list is truncated', async () => {
    for (const t of ['a', 'b', 'c', 'd']) await image('order/app', t);
    const now = Date.now();
    await taggedAt('order/app', 'a', now - 4000);
    await taggedAt('order/app', 'b', now - 1000);
    await taggedAt('order/app', 'c', now - 3000);
    await taggedAt('order/app', 'd', now - 2000);
    const all = await createCatalog(storage).listTags('order/app');
    assert.deepEqual(all?.tags.map((t) => t.tag), ['b', 'd', 'c', 'a']);
    const two = await createCatalog(storage).listTags('order/app', { limit: 2 });
    assert.deepEqual(two?.tags.map((t) => t.tag), ['b', 'd']);
    assert.equal(two?.truncated, true);
    assert.equal(two?.tagCount, 4);
  });

  test('bounds: an oversized config is not read, and one answer reads at most its budget (the rest say so, and come with the next answer)', async () => {
    await image('bounds/big', 'v1', { config: JSON.stringify({ created: '2026-01-01T00:00:00Z', os: 'linux', architecture: 'amd64', pad: 'x'.repeat(5000) }) });
    const [big] = (await createCatalog(storage, { configMaxBytes: 4096 }).listTags('bounds/big'))?.tags ?? [];
    assert.equal(big?.kind, 'image');
    assert.equal(big?.createdAtMs, undefined);
    assert.match(big?.note ?? '', /config larger than 4096 bytes/);

    for (const t of ['one', 'two', 'three']) await image('bounds/budget', t);
    const catalog = createCatalog(storage, { readBudgetBytes: 700 });
    const first = (await catalog.listTags('bounds/budget'))?.tags ?? [];
    assert.equal(first.length, 3, 'every tag is answered, with its digest');
    const skipped = first.filter((t) => t.kind === 'unknown');
    assert.ok(skipped.length >= 1 && skipped.length < 3, `some details fit the budget, some did not: ${JSON.stringify(first.map((t) => t.kind))}`);
    for (const t of skipped) assert.match(t.note ?? '', /limit of manifest bytes/);
    // what was read is kept (a digest's manifest never changes): the next answers get further
    let later = first;
    for (let i = 0; i < 3 && later.some((t) => t.kind === 'unknown'); i++) later = (await catalog.listTags('bounds/budget'))?.tags ?? [];
    assert.deepEqual(later.map((t) => t.kind), ['image', 'image', 'image']);
  });

  test('a manifest over the registry limit is not read at all', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const d = digestOf(huge);
    await storage.writeBlob(d, huge);
    await storage.linkManifest('bounds/huge', d, MEDIA_TYPES.ociManifest);
    await storage.writeTag('bounds/huge', 'v1', d);
    const [tag] = (await createCatalog(storage).listTags('bounds/huge'))?.tags ?? [];
    assert.equal(tag?.digest, d.text);
    assert.equal(tag?.kind, 'unknown');
    assert.match(tag?.note ?? '', /manifest larger than/);
  });

  test('deleting a tag removes the name only: the manifest stays, pullable by digest; an unknown tag or repository is undefined', async () => {
    const pushed = await image('del/app', 'gone');
    await image('del/app', 'kept');
    const catalog = createCatalog(storage);
    assert.deepEqual(await catalog.deleteTag('del/app', 'gone'), { digest: pushed.digest });
    assert.deepEqual((await catalog.listTags('del/app'))?.tags.map((t) => t.tag), ['kept']);
    assert.ok(await storage.readManifest('del/app', parseDigest(pushed.digest)), 'the manifest is still there');
    assert.equal(await catalog.deleteTag('del/app', 'gone'), undefined);
    assert.equal(await catalog.deleteTag('nope/app', 'kept'), undefined);
    assert.equal(await catalog.resolveTag('del/app', 'kept'), (await catalog.listTags('del/app'))?.tags[0]?.digest);
  });

  test('names that are not repository names or tags reach no path: undefined, nothing read or removed', async () => {
    await image('safe/app', 'v1');
    const catalog = createCatalog(storage);
    for (const name of ['../safe/app', 'safe/../safe/app', 'Safe/App', '/safe/app', 'safe/app/', 'safe//app', 'safe/app/_manifests']) {
      assert.equal(await catalog.listTags(name), undefined, name);
      assert.equal(await catalog.deleteTag(name, 'v1'), undefined, name);
    }
    for (const tag of ['../v1', '.', '..', 'v1/../v1', '']) assert.equal(await catalog.deleteTag('safe/app', tag), undefined, tag);
    assert.equal(await catalog.listTags('never/pushed'), undefined);
    assert.deepEqual((await catalog.listTags('safe/app'))?.tags.map((t) => t.tag), ['v1']);
  });
});
