// Checkout tokens and the archive route job Pods download their workspace from: the attacker's
// side — a token is good for one project, one commit and a short time, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ARCHIVE_ROUTE, CheckoutTokens, checkoutUrl, serveCheckout } from './checkout.js';

const COMMIT = 'a'.repeat(40);

test('a checkout token is good for its project and commit until it expires, and for nothing else', () => {
  let now = 1_000_000;
  const key = randomBytes(32);
  const tokens = new CheckoutTokens(key, 60_000, () => now);
  const token = tokens.mint('shop', COMMIT);
  assert.ok(tokens.verify(token, 'shop', COMMIT));
  assert.equal(tokens.verify(token, 'shop2', COMMIT), false, 'another project');
  assert.equal(tokens.verify(token, 'shop', 'b'.repeat(40)), false, 'another commit');
  assert.equal(new CheckoutTokens(randomBytes(32), 60_000, () => now).verify(token, 'shop', COMMIT), false, 'another server key');
  const [head, sig] = token.split('.');
  const later = `${head!.slice(0, 5)}${(now + 10 * 60_000 * 1000).toString(36)}.${sig}`;
  assert.equal(tokens.verify(later, 'shop', COMMIT), false, 'an expiry pushed out breaks the signature');
  assert.equal(tokens.verify(`${head}.${sig!.slice(0, -1)}A`, 'shop', COMMIT), false, 'a tampered signature');
  for (const junk of ['', 'slwc_', 'Bearer x', `${token} `, 'slwc_zzzzzzzzzzzzz.x', token.replace('slwc_', 'slw_')]) assert.equal(tokens.verify(junk, 'shop', COMMIT), false, junk);
  now += 60_001;
  assert.equal(tokens.verify(token, 'shop', COMMIT), false, 'expired');
});

test('the archive route serves the commit to the token, 401 to anyone else, and never a path outside the repositories', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-checkout-'));
  try {
    const work = path.join(root, 'work');
    const git = (args: string[], cwd = work) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
    execFileSync('git', ['init', '-q', '-b', 'main', work]);
    writeFileSync(path.join(work, 'hello.txt'), 'hello\n');
    git(['add', '.']);
    git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'one']);
    const commit = git(['rev-parse', 'HEAD']);
    const reposDir = path.join(root, 'git');
    execFileSync('git', ['clone', '-q', '--bare', work, path.join(reposDir, 'shop.git')]);
    const tokens = new CheckoutTokens(randomBytes(32));
    const server = createServer((req, res) => {
      const match = ARCHIVE_ROUTE.exec(new URL(req.url ?? '/', 'http://x').pathname);
      if (!match) return void res.writeHead(404).end();
      void serveCheckout(req, res, match, reposDir, tokens);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const get = (url: string, token?: string) => fetch(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
      const ok = await get(checkoutUrl(base, 'shop', commit), tokens.mint('shop', commit));
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('content-type'), 'application/x-tar');
      assert.ok(Buffer.from(await ok.arrayBuffer()).includes(Buffer.from('hello.txt')));
      assert.equal((await get(checkoutUrl(base, 'shop', commit))).status, 401, 'no token');
      assert.equal((await get(checkoutUrl(base, 'shop', commit), 'slw_an-api-token-is-not-a-checkout-token')).status, 401);
      assert.equal((await get(checkoutUrl(base, 'shop', commit), tokens.mint('other', commit))).status, 401, "another project's token");
      const absent = 'c'.repeat(40);
      assert.equal((await get(checkoutUrl(base, 'shop', absent), tokens.mint('shop', absent))).status, 404, 'a commit the repository lacks');
      assert.equal((await get(checkoutUrl(base, 'nope', commit), tokens.mint('nope', commit))).status, 404, 'a project without a repository');
      assert.equal(ARCHIVE_ROUTE.exec(`/git/..%2F..%2Fetc.git/archive/${commit}.tar`) !== null, true, 'the route matches it…');
      const escape = await get(`${base}/git/..%2F..%2Fetc.git/archive/${commit}.tar`, tokens.mint('..%2F..%2Fetc', commit));
      assert.equal(escape.status, 404, '…but the name is not a project name');
      assert.equal((await fetch(checkoutUrl(base, 'shop', commit), { method: 'POST', headers: { Authorization: `Bearer ${tokens.mint('shop', commit)}` } })).status, 405);
    } finally {
      server.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
