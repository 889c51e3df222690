// A pull credential (what a Kubernetes target puts in an image pull secret) against the registry's
// HTTP API, as an attacker who found it in the cluster would use it: it pulls its one repository,
// by Basic auth and through the token endpoint, and nothing else — no push, no other repository,
// no catalog, and not once it has expired.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { RegistryPaths } from '../../src/registry/index.js';
import { mintPullCredential } from '../../src/registry/pull-credentials.js';
import { basic, call, errorCode, pushImage, sha256, startRegistry, type TestRegistry } from './support.js';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
  await pushImage(reg, 'shop/web', 'v1');
  await pushImage(reg, 'shop/admin', 'v1');
});
after(async () => {
  await reg.close();
});

async function tokenFor(scope: string, password: string): Promise<{ status: number; access?: Array<{ type: string; name: string; actions: string[] }>; token?: string }> {
  const res = await fetch(`${reg.url}/v2/token?service=slipway-registry&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic(password, 'slipway-pull') } });
  const body = (await res.json()) as { token?: string };
  if (!body.token) return { status: res.status };
  const claims = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString()) as { access: Array<{ type: string; name: string; actions: string[] }> };
  return { status: res.status, access: claims.access, token: body.token };
}

describe('registry pull credentials', () => {
  test('it pulls its own repository by Basic auth and through a Bearer token', async () => {
    const { password } = await reg.registry.pullCredential('shop/web', 3_600_000);
    const pull = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: { authorization: basic(password, 'slipway-pull') } });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const granted = await tokenFor('repository:shop/web:pull', password);
    assert.deepEqual(granted.access, [{ type: 'repository', name: 'shop/web', actions: ['pull'] }]);
    const viaBearer = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: { authorization: `Bearer ${granted.token}` } });
    assert.equal(viaBearer.status, 200);
    await viaBearer.arrayBuffer();
  });

  test('it cannot push, delete, pull another repository or list the catalog', async () => {
    const { password } = await reg.registry.pullCredential('shop/web', 3_600_000);
    const auth = { authorization: basic(password, 'slipway-pull') };
    const push = await call(reg, 'POST', `/v2/shop/web/blobs/uploads/?digest=${sha256('x')}`, { body: 'x', headers: auth });
    assert.equal(push.status, 403);
    assert.equal(await errorCode(push), 'DENIED');
    const manifest = await call(reg, 'PUT', '/v2/shop/web/manifests/evil', { body: '{}', headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(manifest.status, 403);
    await manifest.arrayBuffer();
    const del = await call(reg, 'DELETE', '/v2/shop/web/manifests/v1', { headers: auth });
    assert.equal(del.status, 403);
    await del.arrayBuffer();
    const other = await call(reg, 'GET', '/v2/shop/admin/manifests/v1', { headers: auth });
    assert.equal(other.status, 403);
    await other.arrayBuffer();
    const catalog = await call(reg, 'GET', '/v2/_catalog', { headers: auth });
    assert.equal(catalog.status, 403);
    await catalog.arrayBuffer();
    // the token endpoint grants no more than pull on its own repository, whatever is asked
    const asked = await tokenFor('repository:shop/web:pull,push,delete repository:shop/admin:pull registry:catalog:*', password);
    assert.equal(asked.status, 200);
    assert.deepEqual(asked.access, [{ type: 'repository', name: 'shop/web', actions: ['pull'] }]);
  });

  test('an expired or altered credential is refused, and so is one from another registry', async () => {
    await reg.registry.pullCredential('shop/web', 60_000); // the registry's key exists from here on
    // minted two hours ago for one hour, with the registry's own key
    const key = Buffer.from((await readFile(new RegistryPaths(reg.dataDir).tokenKey(), 'utf8')).trim());
    const { password } = mintPullCredential(key, 'shop/web', 3_600_000, Date.now() - 7_200_000);
    const expired = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: { authorization: basic(password, 'slipway-pull') } });
    assert.equal(expired.status, 401);
    await expired.arrayBuffer();
    assert.equal((await tokenFor('repository:shop/web:pull', password)).status, 401);

    const fresh = (await reg.registry.pullCredential('shop/web', 3_600_000)).password;
    const altered = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: { authorization: basic(`${fresh.slice(0, -3)}abc`, 'slipway-pull') } });
    assert.equal(altered.status, 401);
    await altered.arrayBuffer();
    const elsewhere = await startRegistry();
    try {
      const foreign = (await elsewhere.registry.pullCredential('shop/web', 3_600_000)).password;
      const res = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: { authorization: basic(foreign, 'slipway-pull') } });
      assert.equal(res.status, 401);
      await res.arrayBuffer();
    } finally {
      await elsewhere.close();
    }
  });
});
