// The pool behind a plain listener, against plain node:http upstreams: balancing over the rotation,
// X-Forwarded headers, streaming, retries when a replica dies, holding while the rotation is
// empty, draining, address updates and Upgrade tunnels.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { Pool } from './pool.js';
import { PlainListener } from './router.js';
import { freePort, holdingUpstream, request, upstream, type TestUpstream } from '../../../../test/support/dataplane.js';
import { eventually } from '../../../../test/support/wait.js';

describe('pool', () => {
  const cleanups: Array<() => unknown> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  async function serve(waitForUpstreamMs = 200): Promise<{ pool: Pool; port: number }> {
    const pool = new Pool({ waitForUpstreamMs });
    const listener = new PlainListener('127.0.0.1', 0, 'p', () => pool);
    const port = await listener.listen();
    cleanups.push(() => listener.close(0), () => pool.close());
    return { pool, port };
  }
  async function up(name: string, handler?: http.RequestListener): Promise<TestUpstream> {
    const u = await upstream(name, handler);
    cleanups.push(() => u.close());
    return u;
  }

  it('balances round robin over the upstreams in rotation only and adds X-Forwarded headers', async () => {
    const { pool, port } = await serve();
    const [a, b, c] = [await up('a'), await up('b'), await up('c')];
    pool.add({ id: 'a', host: '127.0.0.1', port: a.port });
    pool.add({ id: 'b', host: '127.0.0.1', port: b.port });
    pool.add({ id: 'c', host: '127.0.0.1', port: c.port });
    void pool.drain('c', 0);
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await request({ port, headers: { 'x-forwarded-for': '10.0.0.1' } });
      const body = JSON.parse(res.body) as { name: string; headers: Record<string, string> };
      seen.push(body.name);
      // a plain listener may sit behind the user's own proxy: the chain is appended to
      assert.equal(body.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
      assert.equal(body.headers['x-forwarded-proto'], 'http');
      assert.equal(body.headers['x-forwarded-host'], `127.0.0.1:${port}`);
    }
    assert.deepEqual([...new Set(seen)].sort(), ['a', 'b']);
    assert.notEqual(seen[0], seen[1]);
  });

  it('at the edge over TLS: X-Forwarded-Proto is https and the client’s own X-Forwarded-* are replaced', async () => {
    const pool = new Pool();
    const a = await up('a');
    pool.add({ id: 'a', host: '127.0.0.1', port: a.port });
    const edge = http.createServer((req, res) => pool.forward(req, res, { tls: true, edge: true }));
    edge.listen(0, '127.0.0.1');
    await once(edge, 'listening');
    cleanups.push(() => (edge.closeAllConnections(), edge.close()), () => pool.close());
    const res = await request({ port: (edge.address() as net.AddressInfo).port, host: 'shop.test', headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.test' } });
    const { headers } = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.deepEqual([headers['x-forwarded-for'], headers['x-forwarded-proto'], headers['x-forwarded-host']], ['127.0.0.1', 'https', 'shop.test']);
  });

  it('holds a request while the rotation is empty and serves it once an upstream is added', async () => {
    const { pool, port } = await serve(5000);
    const a = await up('a');
    const pending = request({ port });
    await eventually('the request to be held', async () => pool.stats().requests === 1, 2000, 10);
    pool.add({ id: 'a', host: '127.0.0.1', port: a.port });
    assert.equal((await pending).status, 200);
  });

  it('answers 503 when no upstream comes during the hold', async () => {
    const { port } = await serve(50);
    const res = await request({ port });
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '1');
  });

  it('retries a GET on another upstream when its upstream refuses the connection', async () => {
    const { pool, port } = await serve();
    const live = await up('live');
    pool.add({ id: 'dead', host: '127.0.0.1', port: await freePort() });
    pool.add({ id: 'live', host: '127.0.0.1', port: live.port });
    for (let i = 0; i < 6; i += 1) assert.equal((await request({ port })).status, 200);
  });

  it('retries a GET whose upstream resets the connection before answering', async () => {
    const { pool, port } = await serve();
    const live = await up('live');
    const resetting = await up('reset', (req) => req.socket.destroy());
    pool.add({ id: 'reset', host: '127.0.0.1', port: resetting.port });
    pool.add({ id: 'live', host: '127.0.0.1', port: live.port });
    for (let i = 0; i < 6; i += 1) {
      const res = await request({ port });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-upstream'], 'live');
    }
  });

  it('does not send a POST with a body twice: a reset before the answer is a 502', async () => {
    const { pool, port } = await serve();
    let hits = 0;
    const resetting = await up('reset', (req) => {
      hits += 1;
      req.socket.destroy();
    });
    const live = await up('live');
    pool.add({ id: 'reset', host: '127.0.0.1', port: resetting.port });
    pool.add({ id: 'live', host: '127.0.0.1', port: live.port });
    const answers: number[] = [];
    for (let i = 0; i < 2; i += 1) answers.push((await request({ port, method: 'POST', body: 'order=1' })).status);
    assert.deepEqual(answers.sort(), [200, 502]);
    assert.equal(hits, 1);
  });

  it('gives up after 4 attempts when every upstream fails, with a 502', async () => {
    const { pool, port } = await serve();
    let hits = 0;
    for (let i = 0; i < 6; i += 1) {
      const u = await up(`r${i}`, (req) => {
        hits += 1;
        req.socket.destroy();
      });
      pool.add({ id: `r${i}`, host: '127.0.0.1', port: u.port });
    }
    assert.equal((await request({ port })).status, 502);
    assert.equal(hits, 4);
  });

  it('streams bodies both ways: the upstream reads the first chunk and the client reads the answer before either ends', async () => {
    const { pool, port } = await serve();
    const echo = await up('echo', (req, res) => {
      res.writeHead(200);
      req.once('data', (chunk: Buffer) => res.write(`first:${chunk.toString()};`));
      req.on('end', () => res.end('end'));
    });
    pool.add({ id: 'echo', host: '127.0.0.1', port: echo.port });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false });
    req.write('one');
    const [res] = (await once(req, 'response')) as [http.IncomingMessage];
    const [first] = (await once(res, 'data')) as [Buffer];
    assert.equal(first.toString(), 'first:one;');
    req.end('two');
    let rest = '';
    for await (const chunk of res) rest += String(chunk);
    assert.equal(rest, 'end');
  });

  it('drains: out of rotation at once, the in-flight request finishes, then drain resolves true', async () => {
    const { pool, port } = await serve();
    const slow = await holdingUpstream('slow', 'part ');
    cleanups.push(() => slow.close());
    const fast = await up('fast');
    pool.add({ id: 'slow', host: '127.0.0.1', port: slow.port });
    const inflight = request({ port });
    await slow.arrived;
    pool.add({ id: 'fast', host: '127.0.0.1', port: fast.port });
    let drained: boolean | undefined;
    const draining = pool.drain('slow', 5000).then((ok) => (drained = ok));
    assert.deepEqual(pool.upstreams.map((u) => u.id), ['fast']);
    assert.equal(JSON.parse((await request({ port })).body).name, 'fast');
    assert.equal(drained, undefined);
    slow.release('done');
    assert.equal((await inflight).body, 'part done');
    await draining;
    assert.equal(drained, true);
  });

  it('a drain that times out resolves false and cuts the request still open', async () => {
    const { pool, port } = await serve();
    const stuck = await up('stuck', (_req, res) => res.writeHead(200) && res.write('never ends'));
    pool.add({ id: 'stuck', host: '127.0.0.1', port: stuck.port });
    const inflight = request({ port }).then(
      () => 'completed',
      () => 'cut',
    );
    await eventually('the request in flight', async () => pool.inflight === 1, 2000, 10);
    assert.equal(await pool.drain('stuck', 100), false);
    assert.equal(await inflight, 'cut');
  });

  it('adding an id again with a new address moves it (ports change after a Docker engine restart)', async () => {
    const { pool, port } = await serve();
    const before = await up('before');
    const afterRestart = await up('after');
    pool.add({ id: 'r1', host: '127.0.0.1', port: before.port });
    assert.equal(JSON.parse((await request({ port })).body).name, 'before');
    pool.add({ id: 'r1', host: 'localhost', port: afterRestart.port });
    assert.deepEqual(pool.upstreams, [{ id: 'r1', host: 'localhost', port: afterRestart.port }]);
    assert.equal(JSON.parse((await request({ port })).body).name, 'after');
  });

  it('counts in flight now, per upstream, and requests in total', async () => {
    const { pool, port } = await serve();
    const held = await holdingUpstream('held');
    cleanups.push(() => held.close());
    pool.add({ id: 'held', host: '127.0.0.1', port: held.port });
    const pending = request({ port });
    await held.arrived;
    assert.deepEqual(pool.stats(), { upstreams: [{ id: 'held', host: '127.0.0.1', port: held.port, inflight: 1 }], inflight: 1, requests: 1 });
    held.release('ok');
    await pending;
    await eventually('nothing in flight', async () => pool.inflight === 0, 2000, 10);
    assert.equal(pool.stats().requests, 1);
  });

  it('passes Upgrade requests through as a byte tunnel, in flight until closed, and drain waits for it', async () => {
    const { pool, port } = await serve();
    const echo = await up('echo');
    pool.add({ id: 'echo', host: '127.0.0.1', port: echo.port });
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await eventually('the 101 answer', async () => received.includes('\r\n\r\n'), 3000, 10);
    assert.match(received, /^HTTP\/1.1 101/);
    received = '';
    socket.write('ping over the tunnel');
    await eventually('the echo', async () => received === 'ping over the tunnel', 3000, 10);
    assert.equal(pool.inflight, 1);
    const draining = pool.drain('echo', 5000);
    socket.destroy();
    assert.equal(await draining, true);
  });
});
