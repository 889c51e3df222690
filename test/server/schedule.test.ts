// on.schedule on a real server, with its clock moved by hand: each tick runs once, a server that
// was down runs the newest missed tick once at start, and two replicas on one PostgreSQL database
// reaching the same tick queue one run. Nothing here sleeps: the tests wait for what the scheduler
// sleeps until (the clock shows it), and for runs to show in the API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ManualClock } from '../support/clock.js';
import { eventually } from '../support/wait.js';
import { startCluster } from '../store/pg-cluster.js';
import { tempRepo, testServer, type TestServer } from './support.js';

const PIPELINE = `version: 1
name: nightly
on:
  schedule:
    - cron: "0 3 * * 1-5"
      timezone: Europe/Berlin
jobs:
  report:
    if: event == 'schedule'
    image: busybox:latest
    steps:
      - run: echo "$SLIPWAY_EVENT from $SLIPWAY_RUN_ID"
`;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// 03:00 in Berlin (CET, UTC+1) on Monday 2 March 2026, and the weekdays after it
const MONDAY = Date.parse('2026-03-02T02:00:00Z');
const REFRESH = 60_000;

interface ListedRun {
  id: string;
  number: number;
  status: string;
  trigger: { event: string; branch: string; commit: string; sender: string };
}

async function scheduledRuns(server: TestServer): Promise<ListedRun[]> {
  const { body } = await server.api<{ runs?: ListedRun[] }>('/api/runs?project=nightly');
  return (body.runs ?? []).filter((run) => run.trigger.event === 'schedule').sort((a, b) => a.number - b.number);
}

/** Waits until the scheduler has finished its round and sleeps until `atMs`. */
function sleepingUntil(clock: ManualClock, atMs: number): Promise<true> {
  return eventually(`the scheduler to sleep until ${new Date(atMs).toISOString()} (it sleeps until ${String(clock.nextWakeMs && new Date(clock.nextWakeMs).toISOString())})`, async () => clock.nextWakeMs === atMs);
}

/** A server whose scheduler started at MONDAY − 90 s, with the nightly pipeline pushed and read. */
async function serverWithSchedule(repo: ReturnType<typeof tempRepo>, options: Parameters<typeof testServer>[0] & { clock: ManualClock }): Promise<TestServer> {
  const { clock, ...rest } = options;
  const server = await testServer({ ...rest, config: { ...rest.config, scheduleClock: clock } });
  // its first round found no project: it sleeps until the next read of the files
  await sleepingUntil(clock, MONDAY - 30_000);
  await server.push(repo, 'nightly');
  return server;
}

test('a pushed on.schedule runs once per tick, as event schedule, of the default branch tip', async () => {
  const repo = tempRepo({ 'slipway.yaml': PIPELINE });
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo.dir, encoding: 'utf8' }).trim();
  const clock = new ManualClock(MONDAY - 90_000);
  const server = await serverWithSchedule(repo, { clock, concurrency: 1 });
  try {
    clock.set(MONDAY - 30_000);
    // the round read the file and sleeps until the tick; on: without push ran nothing for the push
    await sleepingUntil(clock, MONDAY);
    assert.deepEqual(await scheduledRuns(server), []);
    clock.set(MONDAY);
    const first = await server.waitForRun('nightly', 1);
    assert.equal(first.status, 'success', first.reason);
    const [run] = await scheduledRuns(server);
    assert.deepEqual(
      run && { event: run.trigger.event, branch: run.trigger.branch, commit: run.trigger.commit, sender: run.trigger.sender },
      { event: 'schedule', branch: 'main', commit: head, sender: 'schedule' },
    );
    const logs = await server.api<{ lines: Array<{ line: string }> }>(`/api/runs/${first.id}/logs`);
    // the job's `if: event == 'schedule'` held, and its steps saw the event too
    assert.ok(logs.body.lines.some((l) => l.line === `schedule from ${first.id}`), JSON.stringify(logs.body.lines));

    await sleepingUntil(clock, MONDAY + REFRESH);
    clock.set(MONDAY + DAY);
    await eventually('the run of the second tick', async () => (await scheduledRuns(server)).length === 2);
    await sleepingUntil(clock, MONDAY + DAY + REFRESH);
    assert.deepEqual((await scheduledRuns(server)).map((r) => r.number), [1, 2], 'one run per tick');
  } finally {
    await server.stop();
    repo.remove();
  }
});

test('a server restarted after missing three ticks runs the newest of them once, at start', async () => {
  const repo = tempRepo({ 'slipway.yaml': PIPELINE });
  const clock = new ManualClock(MONDAY - 90_000);
  // no workers: the runs stay queued, what is counted is what the scheduler queued
  const first = await serverWithSchedule(repo, { clock, concurrency: 0 });
  let second: TestServer | undefined;
  try {
    clock.set(MONDAY - 30_000);
    await sleepingUntil(clock, MONDAY);
    clock.set(MONDAY);
    await sleepingUntil(clock, MONDAY + REFRESH);
    assert.equal((await scheduledRuns(first)).length, 1);
    // stopped without removing its data: Tuesday's, Wednesday's and Thursday's ticks pass meanwhile
    await first.close();
    const later = new ManualClock(MONDAY + 3 * DAY + 10 * 60_000);
    second = await testServer({ concurrency: 0, config: { dataDir: first.data, scheduleClock: later } });
    await sleepingUntil(later, MONDAY + 3 * DAY + 10 * 60_000 + REFRESH);
    const runs = await scheduledRuns(second);
    assert.equal(runs.length, 2, `one run for the three missed ticks: ${JSON.stringify(runs)}`);
    // and it goes on as before: Friday's tick
    later.set(MONDAY + 4 * DAY);
    await sleepingUntil(later, MONDAY + 4 * DAY + REFRESH);
    assert.equal((await scheduledRuns(second)).length, 3);
  } finally {
    await second?.stop();
    rmSync(first.data, { recursive: true, force: true });
    repo.remove();
  }
});

test('two replicas on one PostgreSQL database whose clocks reach the same tick queue one run', async () => {
  const cluster = await startCluster();
  const repo = tempRepo({ 'slipway.yaml': PIPELINE });
  const database = await cluster.createDatabase();
  // replicas share the key that encrypts the database's secrets
  const env = { SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  const clocks = [new ManualClock(MONDAY - 90_000), new ManualClock(MONDAY - 90_000)] as const;
  const servers: TestServer[] = [];
  try {
    // each replica reads schedules from its own repositories: the project is pushed to both
    for (const clock of clocks) servers.push(await serverWithSchedule(repo, { clock, concurrency: 0, env, config: { database } }));
    const at = async (atMs: number): Promise<void> => {
      for (const clock of clocks) clock.set(atMs);
      await Promise.all(clocks.map((clock) => sleepingUntil(clock, atMs + REFRESH)));
    };
    for (const clock of clocks) clock.set(MONDAY - 30_000);
    await Promise.all(clocks.map((clock) => sleepingUntil(clock, MONDAY)));
    // both replicas wake for the tick at once and both try to claim it
    await at(MONDAY);
    assert.equal((await scheduledRuns(servers[0]!)).length, 1, 'one run for the tick');
    await at(MONDAY + DAY);
    await at(MONDAY + 2 * DAY);
    const runs = await scheduledRuns(servers[1]!);
    assert.deepEqual(runs.map((r) => r.number), [1, 2, 3], 'one run per tick');
  } finally {
    for (const server of servers) await server.stop();
    repo.remove();
    await cluster.stop();
  }
});
