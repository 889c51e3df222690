// Garbage collection: what a manifest reaches stays (configs, layers, index children,
// referrers), what nothing reaches goes once it is older than the grace period.
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, sha256, startRegistry, type TestRegistry } from './support.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg.close();
});

function blobPath(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(reg.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

async function age(digest: string): Promise<void> {
  const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(blobPath(digest), old, old);
}

describe('registry gc', () => {
  test('sweeps only unreferenced blobs past the grace period, and dry-run removes nothing', async () => {
    const kept = await pushImage(reg, 'gc/app', 'v1');
    const child = await pushImage(reg, 'gc/app', 'child');
    const indexBody = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.size }] });
    await call(reg, 'PUT', '/v2/gc/app/manifests/index', { body: indexBody, headers: { 'content-type': OCI_INDEX } });
    await call(reg, 'DELETE', '/v2/gc/app/manifests/child'); // the tag only: the index still holds the child
    const referrerLayer = await pushBlob(reg, 'gc/app', 'signature');
    const emptyConfig = await pushBlob(reg, 'gc/app', '{}', 'application/vnd.oci.empty.v1+json');
    const referrer = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/example',
      config: emptyConfig,
      layers: [referrerLayer],
      subject: { mediaType: OCI_MANIFEST, digest: kept.digest, size: kept.size },
    });
    await call(reg, 'PUT', `/v2/gc/app/manifests/${sha256(referrer)}`, { body: referrer, headers: { 'content-type': OCI_MANIFEST } });

    const orphanOld = await pushBlob(reg, 'gc/app', 'nobody references me');
    const orphanNew = await pushBlob(reg, 'gc/app', 'just uploaded, manifest not yet pushed');
    const deletedImage = await pushImage(reg, 'gc/app', 'gone');
    await call(reg, 'DELETE', `/v2/gc/app/manifests/${deletedImage.digest}`);
    const all = [kept.digest, child.digest, sha256(indexBody), sha256(referrer), referrerLayer.digest, emptyConfig.digest, orphanOld.digest, deletedImage.digest];
    for (const d of all) await age(d);

    const dry = await reg.registry.gc({ dryRun: true });
    assert.ok(dry.deleted.includes(orphanOld.digest));
    assert.equal((await call(reg, 'HEAD', `/v2/gc/app/blobs/${orphanOld.digest}`)).status, 200);

    const report = await reg.registry.gc();
    assert.ok(report.deleted.includes(orphanOld.digest));
    assert.ok(report.deleted.includes(deletedImage.digest));
    assert.ok(!report.deleted.includes(orphanNew.digest), 'a fresh blob is inside the grace period');
    for (const d of [kept.digest, child.digest, sha256(indexBody), sha256(referrer), referrerLayer.digest, emptyConfig.digest]) {
      assert.ok(!report.deleted.includes(d), `${d} is referenced`);
    }
    assert.equal((await call(reg, 'HEAD', `/v2/gc/app/blobs/${orphanOld.digest}`)).status, 404);
    const pull = await call(reg, 'GET', `/v2/gc/app/manifests/v1`);
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const idx = await call(reg, 'GET', `/v2/gc/app/manifests/index`);
    assert.equal(idx.status, 200);
    await idx.arrayBuffer();
    assert.equal((await call(reg, 'HEAD', `/v2/gc/app/manifests/${child.digest}`)).status, 200);
  });

  test('a mount of an old unreferenced blob makes it young again, so gc spares it', async () => {
    const blob = await pushBlob(reg, 'gc/src', 'old shared layer');
    await age(blob.digest);
    const res = await call(reg, 'POST', `/v2/gc/dst/blobs/uploads/?mount=${blob.digest}&from=gc/src`);
    assert.equal(res.status, 201);
    const report = await reg.registry.gc();
    assert.ok(!report.deleted.includes(blob.digest));
    assert.equal((await call(reg, 'HEAD', `/v2/gc/dst/blobs/${blob.digest}`)).status, 200);
  });
});
