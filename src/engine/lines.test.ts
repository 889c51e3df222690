import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, MAX_LINE_CHARS } from './lines.js';

function split(chunks: Array<string | Buffer>): Promise<string[]> {
  const lines: string[] = [];
  const splitter = new LineSplitter((l) => void lines.push(l));
  return new Promise((resolve) => {
    splitter.on('finish', () => resolve(lines));
    for (const c of chunks) splitter.write(typeof c === 'string' ? Buffer.from(c) : c);
    splitter.end();
  });
}

test('lines split across chunks are joined, CRLF trimmed, last partial line flushed', async () => {
  assert.deepEqual(await split(['one\r\ntw', 'o\n\nthr', 'ee']), ['one', 'two', '', 'three']);
});

test('a multi-byte character split between chunks is decoded whole', async () => {
  const bytes = Buffer.from('héllo\n');
  assert.deepEqual(await split([bytes.subarray(0, 2), bytes.subarray(2)]), ['héllo']);
});

test('output without newlines is cut into bounded lines', async () => {
  const lines = await split(['x'.repeat(MAX_LINE_CHARS * 2 + 5)]);
  assert.deepEqual(lines.map((l) => l.length), [MAX_LINE_CHARS, MAX_LINE_CHARS, 5]);
});
