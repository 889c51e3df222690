import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, latestTick, nextTick, parsePipeline, scheduleKey, schedulesOf } from './index.js';

const JOBS = 'jobs:\n  a:\n    image: busybox\n    steps: [{ run: echo }]\n';
const file = (schedule: string): string => `version: 1\nname: nightly\non:\n  schedule:\n${schedule}${JOBS}`;
const problems = (schedule: string): string[] => parsePipeline(file(schedule), 'slipway.yaml').diagnostics.map(formatDiagnostic);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const at = (text: string): number => Date.parse(text);

test('a schedule compiles with its cron (blanks made single), branch, timezone (UTC by default) and position', () => {
  const { pipeline, diagnostics } = parsePipeline(file('    - cron: "0  3 * * 1-5"\n      timezone: Europe/Berlin\n    - { cron: "@daily", branch: release/1.x }\n'), 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  assert.deepEqual(schedulesOf(pipeline), [
    { cron: '0 3 * * 1-5', timezone: 'Europe/Berlin', position: { file: 'slipway.yaml', line: 5, col: 7 } },
    { cron: '@daily', branch: 'release/1.x', timezone: 'UTC', position: { file: 'slipway.yaml', line: 7, col: 7 } },
  ]);
  assert.equal(pipeline.triggers.push, undefined, 'a file with on: but no push runs on no push');
  assert.deepEqual(schedulesOf(parsePipeline(`version: 1\nname: x\n${JOBS}`, 'slipway.yaml').pipeline!), []);
});

test('a bad cron expression is an error at the field at fault, saying what is wrong', () => {
  assert.deepEqual(problems('    - cron: "0 25 * * *"\n'), ["slipway.yaml:5:16: error: cron '0 25 * * *' in 'on.schedule[0]': hour 25 is out of range 0–23"]);
  assert.deepEqual(problems('    - cron: 0 3 32 * *\n'), ["slipway.yaml:5:17: error: cron '0 3 32 * *' in 'on.schedule[0]': day-of-month 32 is out of range 1–31"]);
  assert.deepEqual(problems("    - cron: '*/0 * * * *'\n"), ["slipway.yaml:5:14: error: cron '*/0 * * * *' in 'on.schedule[0]': minute step /0 is out of range 1–59"]);
  const cases: Array<[string, RegExp]> = [
    ['0 3 * * 8', /day-of-week 8 is out of range 0–7/],
    ['0 3 * 13 *', /month 13 is out of range 1–12/],
    ['0 0 3 * * *', /it has 6 fields; a cron expression has 5: minute hour day-of-month month day-of-week.*a seconds or years field is not supported/],
    ['0 3 * *', /it has 4 fields; a cron expression has 5/],
    ['0 0 30 2 *', /it never fires: no date matches it/],
    ['@reboot', /'@reboot' is not a shorthand Slipway knows; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or five fields/],
    ['0 3 * * MON-FRX', /.+/],
    ['0 3 * * 1#6', /nth weekday out of range/],
    [' ', /it is empty/],
    [`${'1,'.repeat(120)}1 * * * *`, /at most 200/],
  ];
  for (const [cron, message] of cases) {
    const found = problems(`    - cron: "${cron}"\n`);
    assert.equal(found.length, 1, `${cron}: ${found.join('\n')}`);
    assert.match(found[0]!, /^slipway\.yaml:5:\d+: error: cron '/);
    assert.match(found[0]!, message, cron);
  }
  const codes = parsePipeline(file('    - cron: "0 25 * * *"\n'), 'slipway.yaml').diagnostics.map((d) => d.code);
  assert.deepEqual(codes, ['SPEC_SCHEDULE']);
});

test('cron expressions croner and crontab share are accepted: names, ranges, steps, lists, L, W, #, shorthands', () => {
  for (const cron of ['*/15 * * * *', '0 3 * * 1-5', '0 3 * * MON-FRI', '30 2 1,15 * *', '0 0 L * *', '0 9 * * 5#2', '0 */6 * JAN-JUN SUN', '0 3 * * 7', '@hourly', '@weekly']) {
    assert.deepEqual(problems(`    - cron: "${cron}"\n`), [], cron);
  }
});

test('a timezone must be an IANA name, as IANA spells it; a near miss gets a did-you-mean', () => {
  const tz = (timezone: string): string[] => problems(`    - cron: "0 3 * * *"\n      timezone: "${timezone}"\n`);
  assert.deepEqual(tz('Europe/Berlln'), ["slipway.yaml:6:17: error: timezone 'Europe/Berlln' in 'on.schedule[0]': not a time zone this server knows (did you mean 'Europe/Berlin'?)"]);
  assert.match(tz('europe/berlin')[0]!, /write it as IANA spells it: 'Europe\/Berlin'/);
  assert.match(tz('+01:00')[0]!, /not an IANA time zone name; write an IANA name such as Europe\/Berlin/);
  assert.match(tz('CET summer')[0]!, /not an IANA time zone name/);
  for (const good of ['UTC', 'Etc/UTC', 'America/New_York', 'Asia/Kolkata', 'US/Eastern', 'Etc/GMT+5']) assert.deepEqual(tz(good), [], good);
});

test('on.schedule: at most 20, no unknown key, a valid branch; the same schedule twice is a warning', () => {
  const many = Array.from({ length: 21 }, (_, i) => `    - cron: "${i} 3 * * *"\n`).join('');
  assert.deepEqual(problems(many), ["slipway.yaml:25:7: error: 'schedule' in 'on' has 21 items; at most 20 are allowed"]);
  assert.match(problems('    - cron: "0 3 * * *"\n      tz: UTC\n')[0]!, /unknown key 'tz' in 'on\.schedule\[0\]'/);
  assert.match(problems('    - cron: "0 3 * * *"\n      branch: "--upload-pack=x"\n')[0]!, /'branch' in 'on\.schedule\[0\]' must be a branch name like main or release\/1\.x/);
  assert.match(problems('    - cron: "0 3 * * *"\n      branch: a..b\n')[0]!, /must be a branch name/);
  const twice = parsePipeline(file('    - cron: "0 3 * * *"\n    - cron: "0 3  * * *"\n      timezone: UTC\n'), 'slipway.yaml');
  assert.ok(twice.pipeline, 'a warning does not stop the file');
  assert.deepEqual(twice.diagnostics.map(formatDiagnostic), ["slipway.yaml:6:7: warning: schedule 2 of 'on.schedule' is the same as schedule 1 (cron, branch and timezone): it runs once; remove one"]);
});

test('a schedule key stays with cron, branch and timezone, whatever the blanks or the place in the list', () => {
  const key = scheduleKey({ cron: '0 3 * * 1-5', timezone: 'UTC' });
  assert.equal(scheduleKey({ cron: ' 0  3 * * 1-5', timezone: 'UTC' }), key);
  assert.match(key, /^[0-9a-f]{32}$/);
  assert.notEqual(scheduleKey({ cron: '0 3 * * 1-5', timezone: 'Europe/Berlin' }), key);
  assert.notEqual(scheduleKey({ cron: '0 3 * * 1-5', branch: 'main', timezone: 'UTC' }), key);
  assert.notEqual(scheduleKey({ cron: '0 4 * * 1-5', timezone: 'UTC' }), key);
});

test('nextTick: strictly after the time given; weekdays in the schedule’s own timezone', () => {
  const weekdays = { cron: '0 3 * * 1-5', timezone: 'Europe/Berlin' };
  // Friday 2026-01-09 03:00 in Berlin (CET, UTC+1) is 02:00Z; the next is Monday's
  assert.equal(iso(nextTick(weekdays, at('2026-01-09T01:59:59.999Z'))), '2026-01-09T02:00:00.000Z');
  assert.equal(iso(nextTick(weekdays, at('2026-01-09T02:00:00.000Z'))), '2026-01-12T02:00:00.000Z');
  // in summer (CEST, UTC+2) the same local time is an hour earlier in UTC
  assert.equal(iso(nextTick(weekdays, at('2026-07-01T00:00:00Z'))), '2026-07-01T01:00:00.000Z');
  assert.equal(iso(nextTick({ cron: '0 3 * * *', timezone: 'UTC' }, at('2026-01-01T03:00:00.500Z'))), '2026-01-02T03:00:00.000Z');
});

test('nextTick over DST in Europe/Berlin: a fixed time in the gap runs after it, a repeated time once; an interval skips the gap and runs both', () => {
  const fixed = { cron: '30 2 * * *', timezone: 'Europe/Berlin' };
  // 2026-03-29: 02:00 → 03:00 local; 02:30 does not exist, so that day's run is at 03:00 CEST (01:00Z)
  assert.deepEqual([at('2026-03-28T00:00:00Z'), at('2026-03-28T01:30:00Z'), at('2026-03-29T01:00:00Z')].map((t) => iso(nextTick(fixed, t))), [
    '2026-03-28T01:30:00.000Z',
    '2026-03-29T01:00:00.000Z',
    '2026-03-30T00:30:00.000Z',
  ]);
  // 2026-10-25: 03:00 → 02:00 local; 02:30 happens twice, and runs at the first only
  assert.equal(iso(nextTick(fixed, at('2026-10-24T23:00:00Z'))), '2026-10-25T00:30:00.000Z');
  assert.equal(iso(nextTick(fixed, at('2026-10-25T00:30:00Z'))), '2026-10-26T01:30:00.000Z');
  const interval = { cron: '*/30 2 * * *', timezone: 'Europe/Berlin' };
  const ticks = (from: string, n: number): string[] => {
    const out: string[] = [];
    let t = at(from);
    for (let i = 0; i < n; i++) out.push(iso((t = nextTick(interval, t)!))!);
    return out;
  };
  assert.deepEqual(ticks('2026-03-28T23:00:00Z', 2), ['2026-03-30T00:00:00.000Z', '2026-03-30T00:30:00.000Z'], 'no 02:xx on the day of the gap');
  assert.deepEqual(ticks('2026-10-24T23:00:00Z', 4), ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z']);
});

test('latestTick is the newest tick at or before the time, and agrees with nextTick (DST included)', () => {
  const schedules = [
    { cron: '0 3 * * 1-5', timezone: 'Europe/Berlin' },
    { cron: '30 2 * * *', timezone: 'Europe/Berlin' },
    { cron: '*/30 2 * * *', timezone: 'Europe/Berlin' },
    { cron: '17 */5 * * *', timezone: 'America/New_York' },
  ];
  assert.equal(iso(latestTick(schedules[0]!, at('2026-01-12T02:00:00.000Z'))), '2026-01-12T02:00:00.000Z', 'a tick exactly now is due now');
  assert.equal(iso(latestTick(schedules[0]!, at('2026-01-12T01:59:59.999Z'))), '2026-01-09T02:00:00.000Z', 'over the weekend: Friday');
  // every half hour over both DST changes: the latest tick is ≤ t, and the next one after it is > t
  for (const schedule of schedules) {
    for (const start of ['2026-03-27T00:00:00Z', '2026-10-23T00:00:00Z', '2026-11-01T05:00:00Z']) {
      for (let t = at(start); t < at(start) + 4 * 24 * 3_600_000; t += 30 * 60_000 + 7_000) {
        const latest = latestTick(schedule, t);
        assert.ok(latest !== undefined && latest <= t, `${schedule.cron} ${iso(t)}`);
        assert.equal(nextTick(schedule, latest - 1), latest, `${schedule.cron} at ${iso(t)}: ${iso(latest)} is a tick nextTick gives too`);
        assert.ok(nextTick(schedule, latest)! > t, `${schedule.cron} at ${iso(t)}: latest ${iso(latest)} then ${iso(nextTick(schedule, latest))}`);
      }
    }
  }
});
