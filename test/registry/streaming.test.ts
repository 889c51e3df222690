// Blobs stream through the registry: a 512 MiB upload and download leave the registry process's
// peak RSS far below the blob's size (it is never held in memory).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { slipwayBin } from '../support/paths.js';

const SIZE = 512 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x5a);
const auth = `Basic ${Buffer.from('t:streaming-token').toString('base64')}`;

function body(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return void this.push(null);
      sent += CHUNK.length;
      this.push(CHUNK);
    },
  });
}

function request(url: string, method: string, source?: Readable): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { authorization: auth, 'content-type': 'application/octet-stream' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
    });
    req.on('error', reject);
    if (source) source.pipe(req);
    else req.end();
  });
}

test('a 512 MiB blob is pushed and pulled with the registry staying under 200 MB of RSS', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-registry-stream-'));
  const child = spawn(process.execPath, [slipwayBin, 'registry', 'serve', '--port', '0', '--data', dir], {
    env: { ...process.env, SLIPWAY_ADMIN_TOKEN: 'streaming-token' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    const base = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: string) => {
        out += c;
        const m = /listening on (http:\/\/[^/]+)\/v2\//.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
    });
    const hash = createHash('sha256');
    for (let i = 0; i < SIZE / CHUNK.length; i++) hash.update(CHUNK);
    const digest = `sha256:${hash.digest('hex')}`;

    const start = await request(`${base}/v2/stream/big/blobs/uploads/`, 'POST');
    assert.equal(start.status, 202);
    const patch = await request(`${base}${start.headers.location}`, 'PATCH', body());
    assert.equal(patch.status, 202);
    const put = await request(`${base}${patch.headers.location}?digest=${digest}`, 'PUT');
    assert.equal(put.status, 201);
    const get = await request(`${base}/v2/stream/big/blobs/${digest}`, 'GET');
    assert.equal(get.status, 200);
    assert.equal(get.bytes, SIZE);

    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const peakMB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
    assert.ok(peakMB < 200, `peak RSS ${peakMB.toFixed(0)} MB`);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
});
