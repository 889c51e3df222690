#!/usr/bin/env node
// Runs the whole test suite from the compiled tree: every *.test.js under dist/, with node's own
// test runner. Arguments narrow it to files whose path contains one of them.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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
// Two files run at a time, so a long file started last leaves one core idle until it ends: the
// files known to be longest (scripts/test-durations.json, from a CI run) start first, files with no
// figure yet before them (new, so unknown).
const durationsFile = path.join(root, 'scripts', 'test-durations.json');
const known = existsSync(durationsFile) ? JSON.parse(readFileSync(durationsFile, 'utf8')) : {};
const keyOf = (file) => path.relative(path.join(root, 'dist'), file).replace(/\.test\.js$/, '');
const weight = (file) => known[keyOf(file)] ?? Number.POSITIVE_INFINITY;
const longestFirst = (a, b) => weight(b) - weight(a) || a.localeCompare(b);

const concurrency = process.env.SLIPWAY_TEST_CONCURRENCY ?? '2';
// *.serial.test.js files disturb the whole machine (one restarts the Docker engine): they run after
// the others, one at a time, with nothing beside them.
const serial = files.filter((file) => file.endsWith('.serial.test.js'));
// The Kubernetes suites mostly wait on the cluster (pods scheduled, rollouts progressing), not on
// the CPU: they run in a lane of their own beside the others, one file at a time, and their report
// is printed when that lane ends (two live reports would interleave).
const isKubernetes = (file) => /[/\\]test[/\\]k8s(-executor)?[/\\]/.test(file);
const kubernetes = files.filter((file) => !serial.includes(file) && isKubernetes(file));
const parallel = files.filter((file) => !serial.includes(file) && !kubernetes.includes(file)).sort(longestFirst);
const measured = mkdtempSync(path.join(os.tmpdir(), 'slipway-test-durations-'));
const reporters = (lane) => [
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${path.join(root, 'scripts', 'test-durations-reporter.mjs')}`, `--test-reporter-destination=${path.join(measured, `${lane}.json`)}`,
];

function runTests(batch, width, lane, { buffered = false } = {}) {
  return new Promise((resolve) => {
    const args = ['--test', `--test-concurrency=${width}`, ...reporters(lane), ...batch];
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
  lanes.push(runTests(kubernetes, '1', 'kubernetes', { buffered: true }).then(({ status: s, output }) => ({ s, output })));
}
if (parallel.length > 0) lanes.push(runTests(parallel, concurrency, 'parallel').then(({ status: s }) => ({ s })));
for (const { s, output } of await Promise.all(lanes)) {
  if (output) {
    console.log('\n[test] the kubernetes lane:');
    // written in full before anything exits (a pipe takes it asynchronously)
    await new Promise((resolve) => process.stdout.write(output, resolve));
  }
  status ||= s;
}
if (serial.length > 0) status ||= (await runTests(serial, '1', 'serial')).status;
writeDurations();
process.exit(status);

/** Merges the lanes' per-file seconds into dist/test-durations.json, for scripts/test-durations.json. */
function writeDurations() {
  const merged = {};
  for (const entry of readdirSync(measured)) {
    try {
      Object.assign(merged, JSON.parse(readFileSync(path.join(measured, entry), 'utf8')));
    } catch {
      // a lane that was killed wrote nothing whole: its figures are simply missing
    }
  }
  rmSync(measured, { recursive: true, force: true });
  if (Object.keys(merged).length === 0) return;
  const sorted = Object.fromEntries(Object.entries(merged).sort(([, a], [, b]) => b - a));
  writeFileSync(path.join(root, 'dist', 'test-durations.json'), `${JSON.stringify(sorted, null, 2)}\n`);
  console.log('[test] seconds per file in dist/test-durations.json (copied to scripts/test-durations.json, it orders the next runs)');
}
