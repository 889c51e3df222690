// The front as a user's browser meets it: several apps on one port told apart by the Host header,
// wildcards, unknown and hostile hosts, TLS with a certificate per host chosen by SNI, and the
// redirect from HTTP to HTTPS that leaves ACME challenges alone.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { DataPlane } from './server.js';
import type { FrontConfig } from './config.js';
import { hostOf } from './hosts.js';
import { makeCertificate, request, upstream, type TestUpstream } from '../../../../test/support/dataplane.js';

describe('front', () => {
  let dir: string;
  let plane: DataPlane;
  let httpPort = 0;
  let httpsPort = 0;
  const upstreams: TestUpstream[] = [];
  const certA = makeCertificate('a.test');
  const certB = makeCertificate('b.test', '*.b.test');

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-front-'));
    plane = new DataPlane({ statePath: path.join(dir, 'state.json'), log: () => undefined, waitForUpstreamMs: 100 });
    for (const name of ['a', 'b', 'wild', 'deep', 'plain']) {
      const u = await upstream(name);
      upstreams.push(u);
      await plane.add(name, { id: `${name}-1`, host: '127.0.0.1', port: u.port });
    }
    const front: FrontConfig = {
      address: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      routes: [
        { hostnames: ['a.test'], pool: 'a', tls: true },
        { hostnames: ['b.test'], pool: 'b', tls: true },
        { hostnames: ['*.example.test'], pool: 'wild', tls: false },
        { hostnames: ['*.deep.example.test', 'exact.example.test'], pool: 'deep', tls: false },
        { hostnames: ['plain.test'], pool: 'plain', tls: false },
      ],
      certificates: [certA, certB],
    };
    await plane.configure({ listeners: [], front });
    const bound = plane.status().front;
    httpPort = bound?.httpPort ?? 0;
    httpsPort = bound?.httpsPort ?? 0;
  });
  after(async () => {
    await plane.shutdown(0);
    for (const u of upstreams) u.close();
    await rm(dir, { recursive: true, force: true });
  });

  const nameOf = (body: string): string => (JSON.parse(body) as { name: string }).name;

  it('routes two host names on one port to two pools, whatever the case and port in the Host header', async () => {
    assert.equal(nameOf((await request({ port: httpsPort, host: 'a.test', tls: { servername: 'a.test', ca: certA.cert } })).body), 'a');
    assert.equal(nameOf((await request({ port: httpsPort, host: 'B.Test:8443', tls: { servername: 'b.test', ca: certB.cert } })).body), 'b');
    assert.equal(nameOf((await request({ port: httpPort, host: 'PLAIN.test:80' })).body), 'plain');
  });

  it('a wildcard covers every name below it; an exact name and then the longest wildcard win', async () => {
    assert.equal(nameOf((await request({ port: httpPort, host: 'shop.example.test' })).body), 'wild');
    assert.equal(nameOf((await request({ port: httpPort, host: 'a.b.example.test' })).body), 'wild');
    assert.equal(nameOf((await request({ port: httpPort, host: 'x.deep.example.test' })).body), 'deep');
    assert.equal(nameOf((await request({ port: httpPort, host: 'exact.example.test' })).body), 'deep');
    // the wildcard is for names below example.test, not example.test itself
    assert.equal((await request({ port: httpPort, host: 'example.test' })).status, 404);
  });

  it('an unknown host gets a plain-text 404 naming the host', async () => {
    const res = await request({ port: httpPort, host: 'nobody.test' });
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.body, /no app is served for host nobody\.test/);
  });

  it('a hostile Host header gets 400, is not echoed and reaches no pool', async () => {
    const before = plane.status().pools;
    for (const host of ['<script>alert(1)</script>', 'a.test/../b', 'a..test', '-a.test', 'a.test:99999', '[zz::1]', 'a.test:']) {
      const socket = net.connect(httpPort, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`GET / HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
      let text = '';
      for await (const chunk of socket) text += String(chunk);
      assert.match(text, /^HTTP\/1.1 400 /, host);
      assert.ok(!text.includes('<script>'), 'the Host header is not echoed');
    }
    const after = plane.status().pools;
    for (const name of Object.keys(before)) assert.equal(after[name]?.requests, before[name]?.requests);
  });

  it('TLS: SNI picks each host’s certificate; a client without SNI gets the first certificate', async () => {
    const a = await request({ port: httpsPort, host: 'a.test', tls: { servername: 'a.test', ca: certA.cert } });
    assert.equal(a.peerCN, 'a.test');
    const wildcard = await request({ port: httpsPort, host: 'b.test', tls: { servername: 'www.b.test', ca: certB.cert } });
    assert.equal(wildcard.peerCN, 'b.test');
    // 127.0.0.1 as the host: node sends no SNI for an IP address
    const noSni = await request({ port: httpsPort, host: 'a.test', tls: { rejectUnauthorized: false } });
    assert.equal(noSni.peerCN, 'a.test');
  });

  it('over TLS the upstream sees X-Forwarded-Proto https', async () => {
    const res = await request({ port: httpsPort, host: 'a.test', tls: { servername: 'a.test', ca: certA.cert } });
    assert.equal((JSON.parse(res.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
  });

  it('plain HTTP to a TLS host is redirected 308 to https, keeping path and query', async () => {
    const res = await request({ port: httpPort, host: 'a.test', path: '/cart/items?id=7&sort=asc', method: 'POST', body: 'x' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, `https://a.test:${httpsPort}/cart/items?id=7&sort=asc`);
  });

  it('ACME HTTP-01 challenges on a TLS host are not redirected but routed to its pool', async () => {
    const res = await request({ port: httpPort, host: 'a.test', path: '/.well-known/acme-challenge/token123' });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { url: string }).url, '/.well-known/acme-challenge/token123');
  });

  it('Host headers are read strictly: names, IPv4, bracketed IPv6, an optional port', () => {
    assert.equal(hostOf('Shop.Example.TEST.:8080'), 'shop.example.test');
    assert.equal(hostOf('10.0.0.1:80'), '10.0.0.1');
    assert.equal(hostOf('[::1]:443'), '[::1]');
    for (const bad of [undefined, '', 'a b', 'a_b.test', `${'a'.repeat(64)}.test`, 'a.test:1:2', '[::1', 'a.test:65536']) assert.equal(hostOf(bad), undefined, String(bad));
  });
});
