// `slipway server` with an admin token the store would refuse: a usage error before anything is
// made on disk, the way a user starting the server sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { slipwayBin } from '../support/paths.js';

function serverWith(data: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // SLIPWAY_* of the shell running the tests must not pick another data directory or database
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SLIPWAY_')));
  const child = spawn(process.execPath, [slipwayBin, 'server', '--data', data, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...clean, ...env },
    // a server that wrongly starts is stopped, and the test fails on its exit code
    timeout: 30_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function assertUsageError(result: { code: number | null; stdout: string; stderr: string }, mentions: RegExp): void {
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${result.stderr}`);
  assert.match(lines[0]!, mentions);
  assert.match(lines[0]!, /at least 16 characters/);
  assert.match(lines[0]!, /openssl rand -hex 32/);
  assert.doesNotMatch(result.stderr, /\n\s+at |StoreError|Error:/, 'no stack trace');
  assert.equal(result.stdout, '');
}

test('SLIPWAY_ADMIN_TOKEN shorter than 16 characters is a usage error and nothing is made on disk', async (t) => {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'slipway-admin-token-'));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const data = path.join(parent, 'data');
  const result = await serverWith(data, { SLIPWAY_ADMIN_TOKEN: 'short' });
  assertUsageError(result, /^slipway server: SLIPWAY_ADMIN_TOKEN /);
  assert.doesNotMatch(result.stderr, /short/, 'the token itself is not echoed');
  assert.equal(existsSync(data), false, 'the data directory was not created');
});

test('SLIPWAY_ADMIN_TOKEN with a space in it is a usage error and nothing is made on disk', async (t) => {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'slipway-admin-token-'));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const data = path.join(parent, 'data');
  const result = await serverWith(data, { SLIPWAY_ADMIN_TOKEN: 'long enough but has spaces' });
  assertUsageError(result, /^slipway server: SLIPWAY_ADMIN_TOKEN /);
  assert.equal(existsSync(data), false, 'the data directory was not created');
});

test('a hand-edited DATA/admin-token too short is a usage error naming the file, and no store is made', async (t) => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-admin-token-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(data, 'admin-token'), 'tiny\n', { mode: 0o600 });
  const result = await serverWith(data, {});
  assertUsageError(result, new RegExp(`^slipway server: ${path.join(data, 'admin-token').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} `));
  assert.deepEqual(readdirSync(data), ['admin-token'], 'no database or key was created beside it');
});
