import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executorConfig } from './server.js';

test('--executor, --jobs-namespace and --clone-url are checked before the server starts (a usage error, exit 2)', () => {
  assert.deepEqual(executorConfig('kubernetes', 'ci-jobs', 'http://10.244.0.1:7700/'), { executor: 'kubernetes', jobsNamespace: 'ci-jobs', cloneUrl: 'http://10.244.0.1:7700' });
  assert.deepEqual(executorConfig(undefined, undefined, undefined), {});
  assert.throws(() => executorConfig('nomad', undefined, undefined), /--executor takes docker or kubernetes, not 'nomad'/);
  for (const ns of ['Jobs', '-jobs', 'a'.repeat(64), 'jobs;rm', '']) assert.throws(() => executorConfig(undefined, ns, undefined), /--jobs-namespace takes/, ns);
  for (const url of ['file:///etc/passwd', 'http://user:pw@host:1', 'http://host/?x=1', 'not a url', 'javascript:alert(1)']) {
    assert.throws(() => executorConfig(undefined, undefined, url), /--clone-url takes/, url);
  }
});

test('--replica-timeout takes a duration of 2s or more; less, or not a duration, is a usage error before the server starts', async () => {
  const { PassThrough } = await import('node:stream');
  const { server } = await import('./server.js');
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: process.cwd() };
  for (const value of ['1s', '500ms', 'soon', '0']) {
    await assert.rejects(server(['--replica-timeout', value], io), /--replica-timeout takes a duration of 2s or more, not/, value);
  }
  let help = '';
  const out = new PassThrough();
  out.on('data', (d: Buffer) => (help += d.toString()));
  assert.equal(await server(['--help'], { ...io, stdout: out }), 0);
  assert.match(help, /--replica-timeout D {2}a server replica silent this long is taken as gone/);
});

test('--jobs-schedule-timeout takes a duration up to 24h, or 0; anything else is a usage error before the server starts', async () => {
  const { PassThrough } = await import('node:stream');
  const { server } = await import('./server.js');
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: process.cwd() };
  for (const value of ['soon', '1 minute', '25h']) {
    await assert.rejects(server(['--jobs-schedule-timeout', value], io), /--jobs-schedule-timeout takes a duration up to 24h \(or 0\), not/, value);
  }
});

test('every duration setting is checked by one rule: bounds, 0 where it means "at once", days where a week is natural', async () => {
  const { durationSetting } = await import('./server.js');
  const week = { flag: '--preview-ttl', minMs: 60_000, days: true, accepts: 'a duration of 1m or more (e.g. 7d, 48h)' };
  assert.equal(durationSetting(undefined, week), undefined, 'unset stays unset: the server keeps its default');
  assert.equal(durationSetting('7d', week), 7 * 86_400_000);
  assert.equal(durationSetting('48h', week), 48 * 3_600_000);
  for (const bad of ['30s', '0', '-1d', '1e9d', 'week', '7 d']) assert.throws(() => durationSetting(bad, week), /--preview-ttl takes a duration of 1m or more \(e\.g\. 7d, 48h\), not/, bad);
  const schedule = { flag: '--jobs-schedule-timeout', zero: true, maxMs: 86_400_000, accepts: 'a duration up to 24h (or 0)' };
  assert.equal(durationSetting(0, schedule), 0, 'a config file may say 0 as a number');
  assert.equal(durationSetting('90s', schedule), 90_000);
  assert.throws(() => durationSetting('2d', schedule), /takes a duration up to 24h \(or 0\), not '2d'/, 'days only where the rule takes them');
  assert.throws(() => durationSetting('x'.repeat(5000), schedule), (err: Error) => err.message.length < 200, 'a hostile value is not echoed whole');
});

test('duration settings come from the --config file too, checked like their flags', async () => {
  const { PassThrough } = await import('node:stream');
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { server } = await import('./server.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-config-'));
  try {
    await writeFile(path.join(dir, 'slipway.yaml'), 'replicaTimeout: 1s\n');
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: dir };
    await assert.rejects(server(['--config', 'slipway.yaml'], io), /--replica-timeout takes a duration of 2s or more, not '1s'/);
    await assert.rejects(server([], { ...io, env: { SLIPWAY_POLL_INTERVAL: '10ms' } }), /--poll-interval takes a duration of 1s or more/, 'the variables are read as before');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
