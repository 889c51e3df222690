// Host routing on one shared port: environments that name host names are served by the edge's front
// listener, routed by the Host header, over TLS with certificates read from files (SNI picks one per
// host), and plain HTTP to a TLS host is redirected to HTTPS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeployError } from '../../src/deploy/index.js';
import { buildImages, deployRequest, fixture, IMAGES, testSpec, type Fixture } from './support.js';

const run = promisify(execFile);
let f: Fixture;
let certs: string;
let httpPort: number;
let httpsPort: number;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function certificate(host: string): Promise<{ certificate: string; key: string }> {
  const certificate = path.join(certs, `${host}.crt`);
  const key = path.join(certs, `${host}.key`);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`, '-keyout', key, '-out', certificate]);
  return { certificate, key };
}

function request(options: http.RequestOptions & { tls?: { servername: string; ca: string } }): Promise<{ status: number; body: string; location?: string; peer?: string }> {
  return new Promise((resolve, reject) => {
    const done = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const peer = (res.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.().subject?.CN;
        resolve({ status: res.statusCode ?? 0, body, ...(res.headers.location ? { location: res.headers.location } : {}), ...(peer ? { peer } : {}) });
      });
    };
    const req = options.tls
      ? https.request({ ...options, host: '127.0.0.1', servername: options.tls.servername, ca: options.tls.ca, agent: false }, done)
      : http.request({ ...options, host: '127.0.0.1', agent: false }, done);
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  // the agent is started by this process and inherits these: the front on free ports of 127.0.0.1
  process.env.SLIPWAY_HTTP_PORT = String(httpPort);
  process.env.SLIPWAY_HTTPS_PORT = String(httpsPort);
  process.env.SLIPWAY_FRONT_ADDRESS = '127.0.0.1';
  certs = await mkdtemp(path.join(os.tmpdir(), 'slipway-certs-'));
  process.env.SLIPWAY_TLS_DIR = certs;
  [f] = await Promise.all([fixture(), buildImages()]);
});
after(async () => {
  await f?.cleanup();
  await rm(certs, { recursive: true, force: true });
});

test('two apps share one port by Host header, each over TLS with its own certificate (SNI), plain HTTP redirected to HTTPS', { timeout: 180_000 }, async () => {
  const [a, b] = await Promise.all([certificate('a.example.test'), certificate('b.example.test')]);
  const alpha = await f.target.deploy(deployRequest('alpha', IMAGES.v1, testSpec({ replicas: 1, hosts: ['a.example.test'], tls: a })));
  assert.equal(alpha.outcome, 'healthy', alpha.reason);
  const beta = await f.target.deploy(deployRequest('beta', IMAGES.v2, testSpec({ replicas: 1, hosts: ['b.example.test'], tls: b })));
  assert.equal(beta.outcome, 'healthy', beta.reason);
  const gamma = await f.target.deploy(deployRequest('gamma', IMAGES.v3, testSpec({ replicas: 1, hosts: ['c.example.test'] })));
  assert.equal(gamma.outcome, 'healthy', gamma.reason);

  const caA = await readFile(a.certificate, 'utf8');
  const caB = await readFile(b.certificate, 'utf8');
  const viaA = await request({ port: httpsPort, path: '/', headers: { host: 'a.example.test' }, tls: { servername: 'a.example.test', ca: caA } });
  assert.equal(viaA.status, 200);
  assert.match(viaA.body, /v1/);
  assert.equal(viaA.peer, 'a.example.test', "a's certificate");
  const viaB = await request({ port: httpsPort, path: '/', headers: { host: 'b.example.test' }, tls: { servername: 'b.example.test', ca: caB } });
  assert.equal(viaB.status, 200);
  assert.match(viaB.body, /v2/);
  assert.equal(viaB.peer, 'b.example.test', "b's certificate, chosen by SNI on the same port");

  const redirect = await request({ port: httpPort, path: '/version?x=1', headers: { host: 'a.example.test' } });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.location, `https://a.example.test:${httpsPort}/version?x=1`);

  const plain = await request({ port: httpPort, path: '/', headers: { host: 'c.example.test' } });
  assert.equal(plain.status, 200, 'a host without TLS is served over HTTP');
  assert.match(plain.body, /v3/);
  const unknown = await request({ port: httpPort, path: '/', headers: { host: 'nobody.example.test' } });
  assert.equal(unknown.status, 404);

  const [status] = await f.target.dockerStatus('alpha', 'test');
  assert.deepEqual(status?.hosts, ['a.example.test']);
});

test('a deploy naming a certificate that cannot be read is refused before anything changes', { timeout: 60_000 }, async () => {
  await assert.rejects(
    f.target.deploy(deployRequest('delta', IMAGES.v1, testSpec({ replicas: 1, hosts: ['d.example.test'], tls: { certificate: path.join(certs, 'missing.crt'), key: path.join(certs, 'missing.key') } }))),
    (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_INVALID' && /certificate or key cannot be read/.test(err.message),
  );
  assert.deepEqual(await f.target.history('delta', 'test'), [], 'no revision recorded');
});

test('a pipeline cannot make the agent serve a key from outside the TLS directory (the server\'s own, say)', { timeout: 60_000 }, async () => {
  const outside = await mkdtemp(path.join(os.tmpdir(), 'slipway-certs-outside-'));
  try {
    const saved = certs;
    certs = outside;
    const stolen = await certificate('e.example.test');
    certs = saved;
    // through a link inside the directory too: the real path decides
    await symlink(stolen.key, path.join(certs, 'link.key'));
    for (const tls of [stolen, { certificate: stolen.certificate, key: path.join(certs, 'link.key') }]) {
      await assert.rejects(
        f.target.deploy(deployRequest('epsilon', IMAGES.v1, testSpec({ replicas: 1, hosts: ['e.example.test'], tls }))),
        (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_INVALID' && /outside the TLS directory/.test(err.message),
      );
    }
    assert.deepEqual(await f.target.history('epsilon', 'test'), [], 'no revision recorded');
  } finally {
    await rm(outside, { recursive: true, force: true });
  }
});
