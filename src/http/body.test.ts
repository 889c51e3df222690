// Bodies are read only up to their limit and a shared budget: a body past either is refused, and
// what a refused or finished body took from the budget is given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ByteBudget, readBody, readJson } from './body.js';
import { HttpError } from './errors.js';

function request(chunks: Array<string | Buffer>, headers: Record<string, string> = {}): IncomingMessage {
  return Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers }) as unknown as IncomingMessage;
}

const refusedWith = (status: number, code: string) => (err: unknown) => err instanceof HttpError && err.status === status && err.code === code;

test('a body within the limit is read whole', async () => {
  assert.equal((await readBody(request(['ab', 'cd']), 4)).toString(), 'abcd');
});

test('a body past the limit is a 413, whether its length is declared or found while reading', async () => {
  await assert.rejects(readBody(request(['x'], { 'content-length': '5' }), 4), refusedWith(413, 'REQUEST_TOO_LARGE'));
  await assert.rejects(readBody(request(['abc', 'de']), 4), refusedWith(413, 'REQUEST_TOO_LARGE'));
});

test('bodies past a shared budget are a 503, and every body gives its bytes back', async () => {
  const budget = new ByteBudget(6);
  assert.ok(budget.take(4), 'another request holds 4 bytes');
  await assert.rejects(readBody(request(['abc']), 10, budget), refusedWith(503, 'SERVER_BUSY'));
  budget.give(4);
  await readBody(request(['abcdef']), 10, budget);
  await assert.rejects(readBody(request(['abc', 'defgh']), 6, budget), refusedWith(413, 'REQUEST_TOO_LARGE'));
  assert.ok(budget.take(6), 'all of the budget is free again');
});

test('a JSON body must be an object; an empty one is {}', async () => {
  assert.deepEqual(await readJson(request(['{"a":', '1}']), 100), { a: 1 });
  assert.deepEqual(await readJson(request([]), 100), {});
  for (const text of ['[1]', 'null', '"a"', '{"a":']) await assert.rejects(readJson(request([text]), 100), refusedWith(400, 'REQUEST_INVALID_JSON'));
});
