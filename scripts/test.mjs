#!/usr/bin/env node
// Runs the whole test suite from the compiled tree: every *.test.js under dist/, with node's own
// test runner. Arguments narrow it to files whose path contains one of them.
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
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
// The Kubernetes suites mostly wait on the cluster (pods scheduled, rollouts progressing), not on
// the CPU: they run in a lane of their own beside the others, one file at a time, and their report
// is printed when that lane ends (two live reports would interleave).
const isKubernetes = (file) => /[/\\]test[/\\]k8s(-executor)?[/\\]/.test(file);
const kubernetes = files.filter((file) => !serial.includes(file) && isKubernetes(file));
const parallel = files.filter((file) => !serial.includes(file) && !kubernetes.includes(file));

function runTests(batch, width, { buffered = false } = {}) {
  return new Promise((resolve) => {
    const args = ['--test', `--test-concurrency=${width}`, '--test-reporter=spec', ...batch];
    const child = spawn(process.execPath, args, { stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit', cwd: root });
    const chunks = [];
    if (buffered) {
      child.stdout.on('data', (d) => chunks.push(d));
      child.stderr.on('data', (d) => chunks.push(d));
    }
    child.on('close', (code) => resolve({ status: code ?? 1, output: Buffer.concat(chunks) }));
  });
}

let status = 0;
const lanes = [];
if (kubernetes.length > 0) {
  console.log(`[test] ${kubernetes.length} kubernetes test files run beside the others; their report follows them`);
  lanes.push(runTests(kubernetes, '1', { buffered: true }).then(({ status: s, output }) => ({ s, output })));
}
if (parallel.length > 0) lanes.push(runTests(parallel, concurrency).then(({ status: s }) => ({ s })));
for (const { s, output } of await Promise.all(lanes)) {
  if (output) {
    console.log('\n[test] the kubernetes lane:');
    // written in full before anything exits (a pipe takes it asynchronously)
    await new Promise((resolve) => process.stdout.write(output, resolve));
  }
  status ||= s;
}
if (serial.length > 0) status ||= (await runTests(serial, '1')).status;
process.exit(status);
