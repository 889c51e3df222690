#!/usr/bin/env node
// Runs the whole test suite from the compiled tree: every *.test.js under dist/, with node's own
// test runner. Arguments narrow it to files whose path contains one of them.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const files = walk(path.join(root, 'dist')).filter(
  (file) => filters.length === 0 || filters.some((f) => file.includes(f)),
).sort();
if (files.length === 0) {
  console.error('no test files found (did the build run?)');
  process.exit(1);
}
const concurrency = process.env.SLIPWAY_TEST_CONCURRENCY ?? '2';
// *.serial.test.js files disturb the whole machine (one restarts the Docker engine): they run after
// the others, one at a time, with nothing beside them.
const serial = files.filter((file) => file.endsWith('.serial.test.js'));
const parallel = files.filter((file) => !serial.includes(file));
let status = 0;
for (const [batch, width] of [[parallel, concurrency], [serial, '1']]) {
  if (batch.length === 0) continue;
  const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${width}`, '--test-reporter=spec', ...batch], { stdio: 'inherit', cwd: root });
  status ||= result.status ?? 1;
}
process.exit(status);
