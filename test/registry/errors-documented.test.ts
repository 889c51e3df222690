// Every registry error code is documented: docs/registry.md names each one in its table, with
// the HTTP status the code answers with.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES } from '../../src/registry/index.js';
import { repoRoot } from '../support/paths.js';

test('every registry error code is documented in docs/registry.md with its status', async () => {
  const doc = await readFile(path.join(repoRoot, 'docs', 'registry.md'), 'utf8');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\``));
    assert.ok(row, `${code} has no row in docs/registry.md's error table`);
    assert.ok(row.includes(`| ${spec.status} `), `${code}'s row does not give its status ${spec.status}`);
  }
});
