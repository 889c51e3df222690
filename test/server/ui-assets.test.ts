// The web UI's files on a real server, from a small fake dist/ui: hashed assets immutable and
// precompressed by what the client takes, index.html for the UI's routes, the security headers on
// every answer; and the attacker's side — traversal, dotfiles, links out of assets/, encoded names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { DEFAULT_UI_DIR, acceptedEncodings, isUiRoute } from '../../src/server/ui-assets.js';
import { testServer, type TestServer } from './support.js';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const INDEX = '<!doctype html><title>Slipway</title><script type="module" src="/assets/index-3f9a1c.js"></script>\n';
const SCRIPT = 'console.log("the UI");\n'.repeat(50);
const SECRET = 'TOP-SECRET-OUTSIDE-ASSETS';

let server: TestServer;
const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-ui-test-'));
const uiDir = path.join(root, 'ui');

before(async () => {
  const assets = path.join(uiDir, 'assets');
  mkdirSync(path.join(assets, 'nested'), { recursive: true });
  writeFileSync(path.join(uiDir, 'index.html'), INDEX);
  writeFileSync(path.join(uiDir, 'secret.txt'), SECRET);
  writeFileSync(path.join(root, 'package.json'), SECRET);
  writeFileSync(path.join(assets, 'index-3f9a1c.js'), SCRIPT);
  writeFileSync(path.join(assets, 'index-3f9a1c.js.br'), brotliCompressSync(SCRIPT));
  writeFileSync(path.join(assets, 'index-3f9a1c.js.gz'), gzipSync(SCRIPT));
  writeFileSync(path.join(assets, 'index-77aa01.css'), 'body{color:red}');
  writeFileSync(path.join(assets, 'logo-ab12cd.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(assets, 'font-9f8e7d.woff2'), Buffer.from([0x77, 0x4f, 0x46, 0x32]));
  writeFileSync(path.join(assets, '.hidden-ab12.js'), SECRET);
  writeFileSync(path.join(assets, 'nested', 'deep-ab12.js'), SECRET);
  writeFileSync(path.join(assets, 'notes-ab12.exe'), SECRET);
  symlinkSync(path.join(uiDir, 'secret.txt'), path.join(assets, 'link-ab12.js'));
  server = await testServer({ concurrency: 0, config: { uiDir } });
});

after(async () => {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request sent exactly as written (fetch would normalize `..` away before sending). */
function raw(target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: target, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function assertSecurityHeaders(res: Raw, what: string): void {
  assert.equal(res.headers['content-security-policy'], CSP, what);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(res.headers['referrer-policy'], 'same-origin', what);
  assert.equal(res.headers['x-frame-options'], 'DENY', what);
}

describe('assets', () => {
  test('a hashed asset is served immutable, with its type, Vary: Accept-Encoding and the security headers', async () => {
    const res = await raw('/assets/index-77aa01.css');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'body{color:red}');
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.ok(res.headers.etag && res.headers['last-modified']);
    assertSecurityHeaders(res, 'asset');
    for (const [file, type] of [['logo-ab12cd.svg', 'image/svg+xml'], ['font-9f8e7d.woff2', 'font/woff2'], ['index-3f9a1c.js', 'text/javascript; charset=utf-8']]) {
      assert.equal((await raw(`/assets/${file}`)).headers['content-type'], type, file);
    }
  });

  test('the precompressed sibling goes to a client that takes it: br first, then gzip, the plain file otherwise (q=0 honoured)', async () => {
    const br = await raw('/assets/index-3f9a1c.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(Number(br.headers['content-length']), br.body.length);
    assert.deepEqual(br.body, brotliCompressSync(SCRIPT));
    const gz = await raw('/assets/index-3f9a1c.js', { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gz.body, gzipSync(SCRIPT));
    const refusesBr = await raw('/assets/index-3f9a1c.js', { 'Accept-Encoding': 'br;q=0, gzip;q=0.5' });
    assert.equal(refusesBr.headers['content-encoding'], 'gzip');
    const plain = await raw('/assets/index-3f9a1c.js', { 'Accept-Encoding': 'identity' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), SCRIPT);
    assert.equal((await raw('/assets/index-3f9a1c.js')).body.toString(), SCRIPT, 'no Accept-Encoding: plain');
    assert.notEqual(br.headers.etag, plain.headers.etag, 'each representation its own ETag');
    const noSibling = await raw('/assets/index-77aa01.css', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(noSibling.headers['content-encoding'], undefined);
    assert.equal(noSibling.body.toString(), 'body{color:red}');
  });

  test('HEAD gives the headers without a body; If-None-Match with the ETag gives a 304', async () => {
    const head = await raw('/assets/index-3f9a1c.js', { 'Accept-Encoding': 'br' }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-encoding'], 'br');
    assert.equal(Number(head.headers['content-length']), brotliCompressSync(SCRIPT).length);
    const again = await raw('/assets/index-3f9a1c.js', { 'Accept-Encoding': 'br', 'If-None-Match': String(head.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test('acceptedEncodings reads q-values and *', () => {
    assert.deepEqual([...acceptedEncodings('gzip, br')], ['br', 'gzip']);
    assert.deepEqual([...acceptedEncodings('*')], ['br', 'gzip']);
    assert.deepEqual([...acceptedEncodings('*, br;q=0')], ['gzip']);
    assert.deepEqual([...acceptedEncodings('BR;Q=1')], ['br']);
    assert.deepEqual([...acceptedEncodings(undefined)], []);
    assert.deepEqual([...acceptedEncodings('identity;q=1, gzip;q=0')], []);
  });
});

describe('pages', () => {
  test('/ and every UI route get index.html with no-cache and the security headers, query strings too', async () => {
    for (const page of ['/', '/login', '/projects', '/projects/web', '/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/environments', '/environments/web/production', '/registry', '/registry/team/web', '/dora', '/settings', '/projects/web?tab=runs', '/projects/a%20b']) {
      const res = await raw(page, { Accept: 'text/html' });
      assert.equal(res.status, 200, page);
      assert.equal(res.body.toString(), INDEX, page);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', page);
      assert.equal(res.headers['cache-control'], 'no-cache', page);
      assertSecurityHeaders(res, page);
    }
    const head = await raw('/settings', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  test('the route list matches whole paths only', () => {
    assert.ok(isUiRoute('/registry/a/b/c'));
    for (const p of ['/projects/', '/projects/a/b', '/runs', '/environments/web', '/api', '/login/x', '/settingsx', '/healthz', '/metrics']) assert.equal(isUiRoute(p), false, p);
  });

  test('everything else keeps its answer: the API’s JSON 404, /healthz, and no index.html for other methods', async () => {
    const nope = await raw('/api/nope');
    assert.equal(nope.status, 404);
    assert.match(String(nope.headers['content-type']), /application\/json/);
    assert.equal(JSON.parse(nope.body.toString()).error.code, 'NOT_FOUND');
    assert.equal((await raw('/nothing-here')).status, 404);
    assert.equal((await raw('/healthz')).status, 200);
    const post = await raw('/', {}, 'POST');
    assert.equal(post.status, 404);
    assert.doesNotMatch(post.body.toString(), /doctype/);
  });

  test('the default UI directory is dist/ui beside the compiled server', () => {
    // this test runs from dist/test/server/: ../../ui is dist/ui too
    assert.equal(DEFAULT_UI_DIR, fileURLToPath(new URL('../../ui/', import.meta.url)));
    assert.match(DEFAULT_UI_DIR, /dist[/\\]ui[/\\]?$/);
  });
});

describe("the attacker's side", () => {
  test('traversal, encoded traversal, dotfiles, nested files, links out of assets/ and unknown types are refused, never index.html', async () => {
    const probes = [
      '/assets/../package.json',
      '/assets/../secret.txt',
      '/assets/../../package.json',
      '/assets/%2e%2e/secret.txt',
      '/assets/%2E%2E/%2E%2E/package.json',
      '/assets/..%2fsecret.txt',
      '/assets/..%2Fsecret.txt',
      '/assets/..%5csecret.txt',
      '/assets/..\\secret.txt',
      '/assets/%252e%252e%252fsecret.txt',
      '/assets/.hidden-ab12.js',
      '/assets/%2ehidden-ab12.js',
      '/assets/nested/deep-ab12.js',
      '/assets/nested%2fdeep-ab12.js',
      '/assets/link-ab12.js',
      '/assets/notes-ab12.exe',
      '/assets/index-3f9a1c.js.br',
      '/assets/index-3f9a1c.js%00',
      '/assets/index-3f9a1c.js%00.css',
      '/assets/',
      '/assets/missing-000000.js',
      `/assets/${'a'.repeat(300)}.js`,
      '//assets/../secret.txt',
    ];
    for (const probe of probes) {
      const res = await raw(probe, { 'Accept-Encoding': 'br, gzip' });
      assert.equal(res.status, 404, `${probe}: ${res.status}`);
      assert.doesNotMatch(res.body.toString(), new RegExp(`${SECRET}|doctype`), probe);
      assert.match(String(res.headers['content-type']), /application\/json/, probe);
    }
    const missing = await raw('/assets/missing-000000.js');
    assert.equal(JSON.parse(missing.body.toString()).error.code, 'UI_ASSET_NOT_FOUND');
    assertSecurityHeaders(missing, 'a missing asset');
  });

  test('without a built UI, / answers 503 saying to run npm run build (and assets 404), and the server goes on', async () => {
    const away = `${uiDir}-away`;
    renameSync(uiDir, away);
    try {
      const res = await raw('/');
      assert.equal(res.status, 503);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.body.toString(), /not built.*npm run build/);
      assertSecurityHeaders(res, '503');
      assert.equal((await raw('/projects/web')).status, 503);
      assert.equal((await raw('/assets/index-3f9a1c.js')).status, 404);
      assert.equal((await raw('/healthz')).status, 200);
    } finally {
      renameSync(away, uiDir);
    }
    assert.equal((await raw('/')).status, 200, 'served again once built');
  });
});
