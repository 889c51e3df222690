// The proxy against plain node:http upstreams: balancing, X-Forwarded headers, streaming, retries
// when a replica dies, draining, and WebSocket-style upgrades.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { Proxy } from './proxy.js';

async function upstream(name: string, handler?: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(
    handler ??
      ((req, res) => {
        res.setHeader('x-upstream', name);
        res.end(JSON.stringify({ name, headers: req.headers }));
      }),
  );
  server.on('upgrade', (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function get(port: number, path = '/'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), headers: Object.fromEntries(res.headers) };
}

describe('proxy', () => {
  const servers: http.Server[] = [];
  const proxies: Proxy[] = [];
  after(async () => {
    for (const p of proxies) await p.close();
    for (const s of servers) s.closeAllConnections(), s.close();
  });
  async function setup(waitForUpstreamMs = 200): Promise<Proxy> {
    const proxy = new Proxy({ host: '127.0.0.1', waitForUpstreamMs });
    await proxy.listen(0);
    proxies.push(proxy);
    return proxy;
  }

  it('balances over the upstreams in rotation and adds X-Forwarded headers', async () => {
    const proxy = await setup();
    const a = await upstream('a');
    const b = await upstream('b');
    servers.push(a.server, b.server);
    proxy.add('a', a.port);
    proxy.add('b', b.port);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i += 1) {
      const res = await get(proxy.port);
      const body = JSON.parse(res.body) as { name: string; headers: Record<string, string> };
      seen.add(body.name);
      assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(body.headers['x-forwarded-proto'], 'http');
      assert.equal(body.headers['x-forwarded-host'], `127.0.0.1:${proxy.port}`);
    }
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  it('answers 503 when no upstream is in rotation', async () => {
    const proxy = await setup(50);
    assert.equal((await get(proxy.port)).status, 503);
  });

  it('retries a GET on another upstream when its upstream refuses the connection', async () => {
    const proxy = await setup();
    const live = await upstream('live');
    servers.push(live.server);
    const dead = net.createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const deadPort = (dead.address() as net.AddressInfo).port;
    dead.close();
    proxy.add('dead', deadPort);
    proxy.add('live', live.port);
    for (let i = 0; i < 6; i += 1) assert.equal((await get(proxy.port)).status, 200);
  });

  it('retries a GET whose upstream resets the connection before answering', async () => {
    const proxy = await setup();
    const live = await upstream('live');
    const resetting = await upstream('reset', (req) => req.socket.destroy());
    servers.push(live.server, resetting.server);
    proxy.add('reset', resetting.port);
    proxy.add('live', live.port);
    for (let i = 0; i < 6; i += 1) {
      const res = await get(proxy.port);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-upstream'], 'live');
    }
  });

  it('drains: an upstream out of rotation finishes its in-flight request and gets no new ones', async () => {
    const proxy = await setup();
    let release: () => void = () => undefined;
    const slow = await upstream('slow', (_req, res) => {
      res.writeHead(200);
      res.write('part ');
      release = () => res.end('done');
    });
    const fast = await upstream('fast');
    servers.push(slow.server, fast.server);
    proxy.add('slow', slow.port);
    const inflight = get(proxy.port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.add('fast', fast.port);
    let drained = false;
    const draining = proxy.drain('slow', 5000).then((ok) => {
      drained = ok;
    });
    assert.deepEqual(proxy.upstreams, ['fast']);
    assert.equal(JSON.parse((await get(proxy.port)).body).name, 'fast');
    assert.equal(drained, false);
    release();
    assert.equal((await inflight).body, 'part done');
    await draining;
    assert.equal(drained, true);
  });

  it('passes upgrade requests through as a byte tunnel', async () => {
    const proxy = await setup();
    const echo = await upstream('echo');
    servers.push(echo.server);
    proxy.add('echo', echo.port);
    const socket = net.connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(`GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n`);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const deadline = Date.now() + 3000;
    while (!received.includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.match(received, /^HTTP\/1.1 101/);
    received = '';
    socket.write('ping over the tunnel');
    while (!received.includes('ping over the tunnel') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received, 'ping over the tunnel');
    socket.destroy();
  });
});
