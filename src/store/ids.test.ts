import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newId } from './ids.js';

it('ids sort in the order they were made, also within one millisecond and when the clock steps back', () => {
  const ids = [newId(1000), newId(1000), newId(1000), newId(999), newId(1001), newId(Date.now())];
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)));
});
