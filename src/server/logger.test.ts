// The server's log: JSON lines for programs, readable lines on a terminal, levels, redaction, and
// the message callback the deeper modules are given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatPrettyLine, isLogLevel, loggerOfFunction, messageLog, toLogger, type LogOutput } from './logger.js';

function collect(isTTY?: boolean): LogOutput & { lines: string[] } {
  const lines: string[] = [];
  return { lines, ...(isTTY !== undefined ? { isTTY } : {}), write: (chunk: string) => lines.push(chunk) };
}

test('when the output is not a terminal each record is one JSON line with level, msg and time', () => {
  const out = collect(false);
  const before = Date.now();
  createLogger({ output: out }).info({ runId: 'r1' }, 'run started');
  assert.equal(out.lines.length, 1);
  assert.ok(out.lines[0]!.endsWith('\n'));
  const record = JSON.parse(out.lines[0]!) as { level: number; msg: string; time: number; runId: string };
  assert.equal(record.level, 30);
  assert.equal(record.msg, 'run started');
  assert.equal(record.runId, 'r1');
  assert.ok(record.time >= before && record.time <= Date.now() + 1000, `time ${record.time}`);
});

test('on a terminal each record is one readable line: time, level, message, key=value fields', () => {
  const out = collect(true);
  const logger = createLogger({ output: out });
  logger.info({ method: 'GET', url: '/api/runs', status: 200, note: 'two words' }, 'request');
  logger.warn('claiming runs: database is down');
  assert.match(out.lines[0]!, /^\d\d:\d\d:\d\d INFO  request method=GET url=\/api\/runs status=200 note="two words"\n$/);
  assert.match(out.lines[1]!, /^\d\d:\d\d:\d\d WARN  claiming runs: database is down\n$/);
  assert.ok(!out.lines.join('').includes('hostname'), 'pid and hostname stay out of the readable line');
});

test("the readable line puts an error's stack on the lines below it", () => {
  const err = new Error('boom');
  const line = formatPrettyLine({ level: 50, time: new Date(2026, 0, 2, 12, 3, 4).getTime(), msg: 'run failed to run', runId: 'r1', err: { type: 'Error', message: 'boom', stack: err.stack } });
  const [first, second, third] = line.split('\n');
  assert.equal(first, '12:03:04 ERROR run failed to run runId=r1');
  assert.equal(second, '    Error: boom');
  assert.match(third!, /^ {4}at /);
});

test('records below the level are not written', () => {
  const out = collect(false);
  const logger = createLogger({ output: out, level: 'warn' });
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.error('e');
  assert.deepEqual(
    out.lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
    ['w', 'e'],
  );
  const debug = collect(false);
  createLogger({ output: debug, level: 'debug' }).debug('d');
  assert.equal(debug.lines.length, 1);
  assert.equal(isLogLevel('debug'), true);
  assert.equal(isLogLevel('verbose'), false);
  assert.equal(isLogLevel('constructor'), false);
});

test('authorization and cookie headers are redacted from whatever logs a request', () => {
  const out = collect(false);
  createLogger({ output: out }).info({ req: { method: 'GET', headers: { authorization: 'Bearer slw_secret', cookie: 'session=secret', accept: 'application/json' } } }, 'request');
  const record = JSON.parse(out.lines[0]!) as { req: { headers: Record<string, string> } };
  assert.equal(record.req.headers.authorization, '[Redacted]');
  assert.equal(record.req.headers.cookie, '[Redacted]');
  assert.equal(record.req.headers.accept, 'application/json');
  assert.ok(!out.lines[0]!.includes('secret'));
});

test('the message callback logs at info, at warn when made so, and a message with a stack at error', () => {
  const out = collect(false);
  const logger = createLogger({ output: out, level: 'debug' });
  messageLog(logger)('push to app refs/heads/main: nothing to run');
  messageLog(logger.child({ runId: 'r9' }), 'warn')('commit status not reported: 401');
  messageLog(logger)(`GET /api/x: ${new Error('boom').stack!}`);
  const records = out.lines.map((line) => JSON.parse(line) as { level: number; msg: string; runId?: string; stack?: string });
  assert.deepEqual(
    records.map((r) => [r.level, r.msg]),
    [
      [30, 'push to app refs/heads/main: nothing to run'],
      [40, 'commit status not reported: 401'],
      [50, 'GET /api/x: Error: boom'],
    ],
  );
  assert.equal(records[1]!.runId, 'r9');
  assert.match(records[2]!.stack!, /^\s+at /);
});

test('a plain function given instead of a logger gets each line as text: message, fields, stack', () => {
  const lines: string[] = [];
  const logger = toLogger((line) => lines.push(line));
  logger.info({ runId: 'r1' }, 'run started');
  logger.debug('not at the default level');
  logger.error({ err: new Error('boom') }, 'run failed to run');
  assert.equal(lines[0], 'run started runId=r1');
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^run failed to run\n {4}Error: boom\n {4}at /);
  const same = loggerOfFunction(() => undefined);
  assert.equal(toLogger(same), same, 'a logger is used as it is');
});
