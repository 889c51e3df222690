import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { openStore, StoreError } from './index.js';

it('openStore picks the database from the URL and says what is wrong with one it does not know', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-open-'));
  try {
    const byDefault = await openStore(undefined, dir, { env: {} });
    assert.equal(byDefault.dialect, 'sqlite');
    await byDefault.close();
    assert.ok(existsSync(path.join(dir, 'slipway.db')));
    const named = await openStore('sqlite:other/state.db', dir, { env: {} });
    await named.close();
    assert.ok(existsSync(path.join(dir, 'other', 'state.db')));
    const absolute = await openStore(`sqlite://${path.join(dir, 'abs.db')}`, dir, { env: {} });
    await absolute.close();
    assert.ok(existsSync(path.join(dir, 'abs.db')));

    await assert.rejects(openStore('mysql://u:hunter2@h/db', dir, { env: {} }), (e: unknown) => {
      assert.ok(e instanceof StoreError && e.code === 'STORE_URL_INVALID');
      assert.doesNotMatch(e.message, /hunter2/, 'the password is not printed');
      return true;
    });
    // port 1 on loopback: refused at once
    await assert.rejects(openStore('postgres://u:pw@127.0.0.1:1/db', dir, { env: {} }), (e: unknown) => {
      assert.ok(e instanceof StoreError && e.code === 'STORE_UNAVAILABLE');
      assert.match(e.message, /cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
