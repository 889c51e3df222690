// The control API through DataPlaneClient, as the deploy agent uses it: configurations applied as
// transactions (kept listeners keep their connections, a port in use changes nothing), refused
// bodies (too large, bad fields), drains, pool removal, and the state file written before answers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { DataPlaneClient, DataPlaneError, type DataPlaneConfig } from './client.js';
import { createControlServer, listenControl } from './control.js';
import { DataPlane } from './server.js';
import { holdingUpstream, makeCertificate, request, upstream, type TestUpstream } from '../../../../test/support/dataplane.js';
import { eventually } from '../../../../test/support/wait.js';

describe('control API', () => {
  let dir: string;
  let plane: DataPlane;
  let control: http.Server;
  let client: DataPlaneClient;
  let socketPath: string;
  const upstreams: TestUpstream[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-control-'));
    socketPath = path.join(dir, 'ctl.sock');
    plane = new DataPlane({ statePath: path.join(dir, 'state.json'), log: () => undefined, waitForUpstreamMs: 100 });
    control = createControlServer(plane, () => undefined);
    await listenControl(control, socketPath);
    client = new DataPlaneClient(socketPath);
    for (const name of ['a', 'b']) upstreams.push(await upstream(name));
  });
  after(async () => {
    control.close();
    await plane.shutdown(0);
    for (const u of upstreams) u.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function refusal(call: Promise<unknown>): Promise<DataPlaneError> {
    const err = await call.then(
      () => assert.fail('the call was accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DataPlaneError, String(err));
    return err;
  }

  it('answers ping and state', async () => {
    assert.equal(await client.ping(), true);
    assert.equal(await new DataPlaneClient(path.join(dir, 'nothing.sock')).ping(), false);
    const state = await client.state();
    assert.deepEqual(state.listeners, []);
  });

  it('applying a config keeps an unchanged listener: its open keep-alive connection serves on', async () => {
    const [bound] = await client.configure({ listeners: [{ pool: 'app/prod', address: '127.0.0.1', port: 0 }] });
    assert.ok(bound && bound.port > 0);
    await client.add('app/prod', { id: 'r1', host: '127.0.0.1', port: upstreams[0]?.port ?? 0 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await request({ port: bound.port, agent });
    // another listener appears and the first one's pool is asked for by its bound port now
    const again = await client.configure({
      listeners: [
        { pool: 'app/prod', address: '127.0.0.1', port: bound.port },
        { pool: 'app/staging', address: '127.0.0.1', port: 0 },
      ],
    });
    assert.equal(again[0]?.port, bound.port);
    const second = await request({ port: bound.port, agent });
    assert.equal(second.status, 200);
    assert.equal(second.localPort, first.localPort, 'the same connection');
    agent.destroy();
  });

  it('a port in use is refused with 409 naming it, and the previous config stays in force', async () => {
    const before = await client.state();
    const squatter = net.createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const taken = (squatter.address() as net.AddressInfo).port;
    try {
      const config: DataPlaneConfig = { listeners: [...before.config.listeners, { pool: 'other', address: '127.0.0.1', port: 0 }, { pool: 'x', address: '127.0.0.1', port: taken }] };
      const err = await refusal(client.configure(config));
      assert.equal(err.status, 409);
      assert.equal(err.code, 'DATAPLANE_PORT_IN_USE');
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${taken}`));
      const after = await client.state();
      assert.deepEqual(after.config, before.config);
      assert.deepEqual(after.listeners, before.listeners);
      const served = before.listeners[0];
      assert.equal((await request({ port: served?.port ?? 0 })).status, 200);
    } finally {
      squatter.close();
    }
  });

  it('a body above 1 MiB is refused with 413', async () => {
    const body = JSON.stringify({ listeners: [], padding: 'x'.repeat(1024 * 1024 + 10) });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ socketPath, method: 'PUT', path: '/config', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 413);
  });

  it('bad fields are refused with 400 and a message naming the field', async () => {
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [client.configure({ listeners: [{ pool: 'a', address: '127.0.0.1', port: 70000 }] }), /listeners\[0\]\.port/],
      [client.configure({ listeners: [{ pool: 'a', address: 'example.com', port: 80 }] } as DataPlaneConfig), /listeners\[0\]\.address/],
      [client.configure({ listeners: [], extra: 1 } as unknown as DataPlaneConfig), /unknown field 'extra'/],
      [client.configure({ listeners: [], front: { address: '127.0.0.1', httpPort: 0, httpsPort: 0, routes: [{ hostnames: ['bad_host.test'], pool: 'a', tls: false }], certificates: [] } }), /front\.routes\[0\]\.hostnames\[0\]/],
      [client.configure({ listeners: [], front: { address: '127.0.0.1', httpPort: 0, httpsPort: 0, routes: [{ hostnames: ['a.test'], pool: 'a', tls: true }], certificates: [] } }), /certificates is empty/],
      [client.configure({ listeners: [], front: { address: '127.0.0.1', httpPort: 0, httpsPort: 0, routes: [{ hostnames: ['a.test'], pool: 'a', tls: false }, { hostnames: ['A.test'], pool: 'b', tls: false }], certificates: [] } }), /names a\.test/],
      [client.add('a', { id: 'r1', host: 'bad host', port: 80 }), /host/],
      [client.add('a', { id: '', host: '127.0.0.1', port: 80 }), /\bid\b/],
      [client.drain('a', 'r1', -1), /timeoutMs/],
      [client.removePool('a', 1.5), /timeoutMs/],
    ];
    for (const [call, message] of cases) {
      const err = await refusal(call);
      assert.equal(err.status, 400, err.message);
      assert.equal(err.code, 'DATAPLANE_INVALID');
      assert.match(err.message, message);
    }
  });

  it('a certificate whose key does not belong to it is refused with 400 before any port moves', async () => {
    const before = await client.state();
    const a = makeCertificate('a.test');
    const b = makeCertificate('b.test');
    const err = await refusal(client.configure({ listeners: [], front: { address: '127.0.0.1', httpPort: 0, httpsPort: 0, routes: [], certificates: [{ cert: a.cert, key: b.key }] } }));
    assert.equal(err.code, 'DATAPLANE_CERTIFICATE_INVALID', err.message);
    assert.match(err.message, /does not belong/);
    assert.deepEqual((await client.state()).listeners, before.listeners);
  });

  it('every change is in the state file (mode 0600) before the call answers', async () => {
    await client.add('app/prod', { id: 'r2', host: '127.0.0.1', port: upstreams[1]?.port ?? 0 });
    const file = path.join(dir, 'state.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { pools: Record<string, Array<{ id: string }>> };
    assert.deepEqual(saved.pools['app/prod']?.map((u) => u.id), ['r1', 'r2']);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const draining = client.drain('app/prod', 'r2', 1000);
    assert.equal(await draining, true);
    const afterDrain = JSON.parse(await readFile(file, 'utf8')) as { pools: Record<string, Array<{ id: string }>> };
    assert.deepEqual(afterDrain.pools['app/prod']?.map((u) => u.id), ['r1']);
  });

  it('drain answers once the in-flight request finished; removing a pool drains it and forgets it', async () => {
    const slow = await holdingUpstream('slow');
    upstreams.push(slow);
    const [bound] = await client.configure({ listeners: [{ pool: 'slow', address: '127.0.0.1', port: 0 }] });
    await client.add('slow', { id: 's1', host: '127.0.0.1', port: slow.port });
    const pending = request({ port: bound?.port ?? 0 });
    await slow.arrived;
    let drained: boolean | undefined;
    const draining = client.drain('slow', 's1', 5000).then((ok) => (drained = ok));
    assert.deepEqual((await client.state()).pools.slow?.upstreams, []);
    assert.equal(drained, undefined);
    slow.release('done');
    assert.equal((await pending).body, 'done');
    await draining;
    assert.equal(drained, true);
    assert.equal(await client.removePool('slow'), true);
    assert.equal((await client.state()).pools.slow, undefined);
  });

  it("answers one pool's in-flight count alone: a held request counts until it ends, and a pool it does not know has none", async () => {
    const held = await holdingUpstream('held');
    upstreams.push(held);
    const [bound] = await client.configure({ listeners: [{ pool: 'web/prod', address: '127.0.0.1', port: 0 }] });
    await client.add('web/prod', { id: 'h1', host: '127.0.0.1', port: held.port });
    assert.equal(await client.inflight('web/prod'), 0);
    const pending = request({ port: bound?.port ?? 0 });
    await held.arrived;
    assert.equal(await client.inflight('web/prod'), 1);
    assert.equal(await client.inflight('web/staging'), 0, 'a pool it does not know');
    assert.deepEqual(await fetchRaw(socketPath, 'GET', `/pools/${encodeURIComponent('web/prod')}/inflight`), { inflight: 1 }, 'the count and nothing else');
    held.release('done');
    assert.equal((await pending).body, 'done');
    await eventually('the finished request no longer counted', async () => (await client.inflight('web/prod')) === 0, 5000, 20);
    assert.equal((await client.state()).pools['web/staging'], undefined, 'asking made no pool');
  });

  it('an unknown route is a 404 with a code', async () => {
    const err = await refusal(fetchRaw(socketPath, 'GET', '/nothing'));
    assert.equal(err.status, 404);
    assert.equal(err.code, 'DATAPLANE_NOT_FOUND');
  });
});

describe('the control client', () => {
  it("asks a data plane of an earlier release, which has no in-flight route, for its whole state instead, after one 404", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-control-old-'));
    const socketPath = path.join(dir, 'ctl.sock');
    const asked: string[] = [];
    const old = http.createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      const [status, body] = req.url === '/state' ? [200, { config: { listeners: [] }, listeners: [], pools: { 'web/prod': { upstreams: [], inflight: 3, requests: 9 } } }] : [404, { code: 'DATAPLANE_NOT_FOUND', message: `no control route ${req.method} ${req.url}` }];
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    try {
      await listenControl(old, socketPath);
      const client = new DataPlaneClient(socketPath);
      assert.equal(await client.inflight('web/prod'), 3);
      assert.equal(await client.inflight('web/staging'), 0);
      assert.deepEqual(asked, ['GET /pools/web%2Fprod/inflight', 'GET /state', 'GET /state'], 'the missing route is learnt once');
    } finally {
      old.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A raw call, mapped to DataPlaneError as the client does. */
function fetchRaw(socketPath: string, method: string, pathname: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: pathname }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        const body = JSON.parse(text) as { code: string; message: string };
        if ((res.statusCode ?? 500) >= 400) reject(new DataPlaneError(body.code, body.message, res.statusCode ?? 500));
        else resolve(body);
      });
    });
    req.on('error', reject);
    req.end();
  });
}
