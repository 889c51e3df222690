import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Demuxer } from './demux.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('frames split anywhere are routed to stdout and stderr', async () => {
  const all = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'out two\n')]);
  for (let cut = 0; cut <= all.length; cut++) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (d: Buffer) => out.push(d));
    stderr.on('data', (d: Buffer) => err.push(d));
    const demux = new Demuxer(stdout, stderr);
    await new Promise<void>((resolve) => {
      demux.write(all.subarray(0, cut));
      demux.end(all.subarray(cut), resolve);
    });
    assert.equal(Buffer.concat(out).toString(), 'out one\nout two\n', `cut ${cut}`);
    assert.equal(Buffer.concat(err).toString(), 'err\n', `cut ${cut}`);
  }
});
