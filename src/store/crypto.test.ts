import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadSecretKey, SecretBox } from './crypto.js';
import { StoreError } from './types.js';

describe('store secret key and sealing', () => {
  it('creates DATA/secret.key with mode 0600 on first use and reads the same key after', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-key-'));
    try {
      const first = await loadSecretKey(path.join(dir, 'data'), {});
      const file = path.join(dir, 'data', 'secret.key');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal(Buffer.from(await readFile(file, 'utf8'), 'base64').length, 32);
      assert.deepEqual((await loadSecretKey(path.join(dir, 'data'), {})).key, first.key);
      // concurrent first starts agree on one key
      const racers = await Promise.all([1, 2, 3].map(() => loadSecretKey(path.join(dir, 'race'), {})));
      assert.ok(racers.every((k) => k.key.equals(racers[0]!.key)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prefers SLIPWAY_SECRET_KEY and rejects a key of the wrong size, naming where it came from', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-key-'));
    try {
      const key = Buffer.alloc(32, 1);
      const loaded = await loadSecretKey(dir, { SLIPWAY_SECRET_KEY: key.toString('base64') });
      assert.deepEqual(loaded, { key, origin: 'SLIPWAY_SECRET_KEY' });
      await assert.rejects(loadSecretKey(dir, { SLIPWAY_SECRET_KEY: 'dG9vIHNob3J0' }), /SLIPWAY_SECRET_KEY must hold 32 bytes/);
      await writeFile(path.join(dir, 'secret.key'), 'bad');
      await assert.rejects(loadSecretKey(dir, {}), (e: unknown) => e instanceof StoreError && e.code === 'STORE_SECRET_KEY_INVALID');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('seals with a fresh IV each time and opens only with the same key and context', () => {
    const box = new SecretBox({ key: Buffer.alloc(32, 2), origin: 'test' });
    const a = box.seal('s3cret', 'secret:p:A');
    assert.notEqual(a, box.seal('s3cret', 'secret:p:A'));
    assert.match(a, /^v1:/);
    assert.equal(box.open(a, 'secret:p:A'), 's3cret');
    assert.throws(() => box.open(a, 'secret:p:B'), /not the one this database's secrets were encrypted with/);
    const other = new SecretBox({ key: Buffer.alloc(32, 3), origin: '/data/secret.key' });
    assert.throws(() => other.open(a, 'secret:p:A'), /\/data\/secret.key/);
    assert.throws(() => box.open('garbage', 'x'), (e: unknown) => e instanceof StoreError && e.code === 'STORE_SECRET_KEY_MISMATCH');
  });
});
