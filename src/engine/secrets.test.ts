import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SecretMasker, secretPatterns } from './secrets.js';

async function maskChunks(secrets: string[], chunks: string[]): Promise<string> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks.map((c) => Buffer.from(c))),
    new SecretMasker(secretPatterns(secrets)),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out).toString();
}

test('a secret in one chunk is masked', async () => {
  assert.equal(await maskChunks(['hunter2'], ['password is hunter2!\n']), 'password is ***!\n');
});

test('a secret split across chunk boundaries is masked', async () => {
  assert.equal(await maskChunks(['hunter2'], ['password is hun', 'te', 'r2 ok']), 'password is *** ok');
});

test('a secret split at every possible boundary is masked', async () => {
  const text = 'a=s3cr3t-value b=s3cr3t-value end';
  for (let cut = 0; cut <= text.length; cut++) {
    for (let cut2 = cut; cut2 <= text.length; cut2 += 3) {
      const masked = await maskChunks(['s3cr3t-value'], [text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)]);
      assert.equal(masked, 'a=*** b=*** end', `cuts at ${cut}, ${cut2}`);
    }
  }
});

test('a prefix of a secret at the end of the stream is not swallowed', async () => {
  assert.equal(await maskChunks(['hunter2'], ['the end: hunt']), 'the end: hunt');
});

test('the longer of two overlapping secrets is masked whole', async () => {
  assert.equal(await maskChunks(['abc', 'abcdef'], ['xx abcdef yy abc']), 'xx *** yy ***');
});

test('each line of a multi-line secret is masked on its own', async () => {
  const key = '-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----';
  assert.equal(await maskChunks([key], ['line: AAAABBBBCCCC\n']), 'line: ***\n');
});

test('no secrets: bytes pass through unchanged', async () => {
  assert.equal(await maskChunks([], ['plain ', 'text']), 'plain text');
});
