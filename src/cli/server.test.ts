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
