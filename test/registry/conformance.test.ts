// The checks of the OCI distribution-spec conformance suite (v1.1.1, conformance/0*_test.go) that
// Slipway failed (invalid references) or passed only by falling back (mounts), sent as the suite
// sends them: through a client that, like the suite's (reggie), meets a 401 by fetching a token for
// the challenge's scope and retrying once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN, basic, call, errorCode, OCI_MANIFEST, PUSHER, pushBlob, pushImage, sha256, startRegistry, type TestRegistry } from './support.js';

/** The suite's `nonexistentManifest`: neither a tag (a leading dot) nor a digest. */
const INVALID_REFERENCE = '.INVALID_MANIFEST_NAME';
/** The suite's default repository (`OCI_NAMESPACE`) and its cross-mount target. */
const NAME = 'conformance/default';
const CROSSMOUNT = 'conformance/crossmount';

let reg: TestRegistry;
before(async () => {
  reg = await startRegistry();
  await pushImage(reg, NAME, 'tagtest0');
});
after(async () => {
  await reg.close();
});

interface Exchange {
  /** The first answer, before any retry. */
  first: Response;
  /** The answer the suite judges: the retry with a Bearer token after a 401, else the first. */
  final: Response;
  /** The scope the challenge asked for, and the access the token endpoint granted for it. */
  scope?: string;
  granted?: Array<{ name: string; actions: string[] }>;
}

/** One request as reggie's `client.Do` makes it: anonymous first, then one retry with a token. */
async function suiteDo(method: string, urlPath: string, secret: string): Promise<Exchange> {
  const first = await call(reg, method, urlPath, { headers: { authorization: '' } });
  if (first.status !== 401) return { first, final: first };
  await first.arrayBuffer();
  const challenge = first.headers.get('www-authenticate') ?? '';
  // reggie's own parse of the challenge: every key="value" pair
  const params = Object.fromEntries([...challenge.matchAll(/([a-zA-z]+)="(.+?)"/g)].map((m) => [m[1], m[2]]));
  const tokenUrl = new URL(params.realm ?? '');
  tokenUrl.searchParams.set('service', params.service ?? '');
  if (params.scope) tokenUrl.searchParams.set('scope', params.scope);
  const tokenRes = await fetch(tokenUrl, { headers: { authorization: basic(secret), accept: 'application/json' } });
  const { token } = (await tokenRes.json()) as { token: string };
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { access: Array<{ name: string; actions: string[] }> };
  const final = await call(reg, method, urlPath, { headers: { authorization: `Bearer ${token}` } });
  return { first, final, ...(params.scope ? { scope: params.scope } : {}), granted: claims.access };
}

describe('OCI conformance: manifest references that are neither tag nor digest', () => {
  test('HEAD of a reference that is neither a tag nor a digest is 404, like any manifest the repository lacks', async () => {
    const { final } = await suiteDo('HEAD', `/v2/${NAME}/manifests/${INVALID_REFERENCE}`, ADMIN);
    assert.equal(final.status, 404);
  });

  test('GET of a reference that is neither a tag nor a digest is 404 MANIFEST_UNKNOWN', async () => {
    const { final } = await suiteDo('GET', `/v2/${NAME}/manifests/${INVALID_REFERENCE}`, ADMIN);
    assert.equal(final.status, 404);
    assert.equal(await errorCode(final), 'MANIFEST_UNKNOWN');
  });

  test('DELETE of such a reference is 404 MANIFEST_UNKNOWN; PUT to it is still refused as MANIFEST_INVALID; a malformed digest stays DIGEST_INVALID', async () => {
    const del = await call(reg, 'DELETE', `/v2/${NAME}/manifests/${INVALID_REFERENCE}`);
    assert.equal(del.status, 404);
    assert.equal(await errorCode(del), 'MANIFEST_UNKNOWN');
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] });
    const put = await call(reg, 'PUT', `/v2/${NAME}/manifests/${INVALID_REFERENCE}`, { body, headers: { 'content-type': OCI_MANIFEST } });
    assert.equal(put.status, 400);
    assert.equal(await errorCode(put), 'MANIFEST_INVALID');
    assert.equal((await call(reg, 'GET', `/v2/${NAME}/manifests/${INVALID_REFERENCE}`)).status, 404, 'the refused PUT stored nothing');
    // the suite's "400 response body should contain OCI-conforming JSON message" (400 or 404 pass;
    // it sends a body with this GET too, which fetch cannot)
    const wrong = await call(reg, 'GET', `/v2/${NAME}/manifests/sha256:totallywrong`);
    assert.equal(wrong.status, 400);
    assert.equal(await errorCode(wrong), 'DIGEST_INVALID');
  });
});

describe('OCI conformance: cross-repository blob mount through the Bearer challenge', () => {
  test('a mount answered 401 asks for pull on the source too, and the token fetched from that challenge mounts the blob (201)', async () => {
    const blob = await pushBlob(reg, NAME, 'conformance blob A');
    const { first, final, scope } = await suiteDo('POST', `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${blob.digest}&from=${NAME}`, ADMIN);
    assert.equal(first.status, 401);
    assert.equal(scope, `repository:${CROSSMOUNT}:pull,push repository:${NAME}:pull`);
    assert.equal(final.status, 201, await final.clone().text());
    assert.equal(final.headers.get('location'), `/v2/${CROSSMOUNT}/blobs/${blob.digest}`);
    assert.equal(final.headers.get('docker-content-digest'), blob.digest);
    const { final: pulled } = await suiteDo('GET', `/v2/${CROSSMOUNT}/blobs/${blob.digest}`, ADMIN);
    assert.equal(pulled.status, 200);
    assert.equal(await pulled.text(), 'conformance blob A');
  });

  test('without pull on the source the mount falls back to an upload session (202) and the blob never appears in the target', async () => {
    // PUSHER may push team/*, and nothing outside it: the token endpoint grants only the target
    const blob = await pushBlob(reg, NAME, 'conformance blob B');
    const target = 'team/crossmount';
    const { final, scope, granted } = await suiteDo('POST', `/v2/${target}/blobs/uploads/?mount=${blob.digest}&from=${NAME}`, PUSHER);
    assert.equal(scope, `repository:${target}:pull,push repository:${NAME}:pull`);
    assert.deepEqual(granted, [{ type: 'repository', name: target, actions: ['pull', 'push'] }]);
    assert.equal(final.status, 202);
    assert.match(final.headers.get('location') ?? '', new RegExp(`^/v2/${target}/blobs/uploads/[^/]+$`));
    // the same answer as for a blob the source does not have: existence is not told either
    const absent = await suiteDo('POST', `/v2/${target}/blobs/uploads/?mount=${sha256('absent')}&from=${NAME}`, PUSHER);
    assert.equal(absent.final.status, 202);
    const basicMount = await call(reg, 'POST', `/v2/${target}/blobs/uploads/?mount=${blob.digest}&from=${NAME}`, { headers: { authorization: basic(PUSHER) } });
    assert.equal(basicMount.status, 202);
    const head = await call(reg, 'HEAD', `/v2/${target}/blobs/${blob.digest}`);
    assert.equal(head.status, 404, 'the blob was not linked into the target');
  });
});
