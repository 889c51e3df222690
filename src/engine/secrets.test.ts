import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SecretMasker, secretPatterns, secretsTooShortToMask, shortSecretsWarning } from './secrets.js';

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

// Short secrets (fewer than MIN_MASKED_SECRET_LENGTH characters) are masked only as a whole word:
// masking them inside other words mangles the log and tells whoever reads it what the secret is
// ("t***le" is "table" with the secret "ab").

test('a short secret is not masked inside other words', async () => {
  assert.equal(await maskChunks(['ab'], ['a table, a label and abc\n']), 'a table, a label and abc\n');
  assert.equal(await maskChunks(['7'], ['exit 17 at 2027\n']), 'exit 17 at 2027\n');
  assert.equal(await maskChunks(['pin'], ['spinning pins_and_needles\n']), 'spinning pins_and_needles\n');
});

test('a short secret standing as a whole word is masked', async () => {
  assert.equal(await maskChunks(['ab'], ['ab\n']), '***\n');
  assert.equal(await maskChunks(['ab'], ['pw=ab; user:ab "ab" (ab)\n']), 'pw=***; user:*** "***" (***)\n');
  assert.equal(await maskChunks(['ab'], ['the end: ab']), 'the end: ***');
  // only its word edges need a boundary: a value read from a file with its newline still is masked
  assert.equal(await maskChunks(['ab\n'], ['ab\nnext line\n']), '***next line\n');
});

test('a short secret split across chunks is decided by the byte after it, wherever that arrives', async () => {
  const text = 'x ab table ab\nab.';
  for (let cut = 0; cut <= text.length; cut++) {
    for (let cut2 = cut; cut2 <= text.length; cut2++) {
      const masked = await maskChunks(['ab'], [text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)]);
      assert.equal(masked, 'x *** table ***\n***.', `cuts at ${cut}, ${cut2}`);
    }
  }
});

test('a short secret after a word in an earlier chunk is not masked', async () => {
  assert.equal(await maskChunks(['ab'], ['t', 'ab', 'le ', 'ab']), 'table ***');
});

test('a short secret between colour codes is masked; a long one split by a colour reset stays visible', async () => {
  assert.equal(await maskChunks(['ab'], ['\x1b[32mab\x1b[0m\n']), '\x1b[32m***\x1b[0m\n');
  assert.equal(await maskChunks(['ab'], ['\x1b[1;3', '2mab', '\x1b[0m\n']), '\x1b[1;32m***\x1b[0m\n');
  assert.equal(await maskChunks(['hunter2'], ['\x1b[31mhunter2\x1b[0m\n']), '\x1b[31m***\x1b[0m\n');
  // a known limit, as in other CI systems: a value the step re-encodes or splits is not recognised
  assert.equal(await maskChunks(['hunter2'], ['\x1b[31mhun\x1b[0mter2\n']), '\x1b[31mhun\x1b[0mter2\n');
});

test('a short secret is not masked inside words of other scripts', async () => {
  assert.equal(await maskChunks(['ab'], ['übab ab\n']), 'übab ***\n');
});

test('a secret of blanks is never a pattern', () => {
  assert.deepEqual(secretPatterns([' ', '\t\n', '   ']), []);
});

test('a multi-line secret: whole, line by line (also with CRLF), short lines only as whole words', async () => {
  const key = 'line-one-xyz\nab\nline-three-xyz';
  assert.equal(await maskChunks([key], ['k=line-one-xyz\nab\nline-three-xyz.\n']), 'k=***.\n');
  // lines of fewer than 3 characters ("}", "ab") are not patterns of their own, as before
  assert.equal(await maskChunks([key], ['line-one-xyz\r\nab\r\nline-three-xyz\r\n']), '***\r\nab\r\n***\r\n');
  assert.equal(await maskChunks([key], ['a table\n']), 'a table\n');
  const threeCharLine = 'first-line-value\nxyz\nlast-line-value';
  assert.equal(await maskChunks([threeCharLine], ['xyz\n', 'xyzzy\n']), '***\nxyzzy\n');
});

test('secrets too short to mask reliably are named once in a warning', () => {
  assert.deepEqual(secretsTooShortToMask({ API_TOKEN: 'long-enough', PIN: '123', EMPTY: '', BLANK: '    ', TWO: 'ab' }), ['BLANK', 'PIN', 'TWO']);
  const warning = shortSecretsWarning({ PIN: '123', TWO: 'ab', API_TOKEN: 'long-enough' });
  assert.ok(warning);
  assert.match(warning, /PIN, TWO/);
  assert.match(warning, /fewer than 4 characters/);
  assert.doesNotMatch(warning, /123|\bab\b|API_TOKEN/);
  assert.equal(shortSecretsWarning({ API_TOKEN: 'long-enough' }), undefined);
});
