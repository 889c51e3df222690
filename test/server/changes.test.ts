// The web UI's live lists: GET /api/events tells open pages what changed (a run, an environment),
// so they read again instead of polling; the lists it refreshes: a project's newest run on the
// projects list, and runs filtered by what started them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempRepo } from '../support/repo.js';
import { eventually } from '../support/wait.js';
import { testServer, type TestServer } from './support.js';

let server: TestServer;
const repo = tempRepo({
  'slipway.yaml': `version: 1
name: lively
jobs:
  one:
    image: busybox:latest
    steps:
      - run: echo hi
`,
});

before(async () => {
  server = await testServer();
});

after(async () => {
  await server.stop();
  repo.remove();
});

/** The events of GET /api/events as they come, until `stop`. */
async function followChanges(token: string): Promise<{ events: Array<{ kind: string; data: Record<string, string> }>; stop: () => void }> {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/api/events`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: Array<{ kind: string; data: Record<string, string> }> = [];
  void (async () => {
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (kind && data) events.push({ kind, data: JSON.parse(data) as Record<string, string> });
        }
      }
    } catch {
      // aborted by stop()
    }
  })();
  return { events, stop: () => controller.abort() };
}

test('a page following /api/events hears of a pushed run when it is queued and again as it runs and ends, coalesced per run', async () => {
  const reader = await server.tokenWith(['read'], 'watcher');
  const changes = await followChanges(reader);
  try {
    await server.push(repo, 'lively');
    const run = await server.waitForRun('lively', 1);
    assert.equal(run.status, 'success', run.reason);
    // the run's last change (success) is told after it happened
    await eventually('the change events of run 1', async () => changes.events.filter((e) => e.kind === 'run' && e.data.id === run.id).length >= 2, 10_000, 50);
    assert.ok(changes.events.every((e) => e.kind === 'run' && typeof e.data.id === 'string'), JSON.stringify(changes.events));
    // one event per run per 250 ms at most: a run of a few writes is not a flood
    assert.ok(changes.events.length < 20, `${changes.events.length} events for one short run`);
  } finally {
    changes.stop();
  }
});

test('/api/events needs a token and an event-stream request', async () => {
  assert.equal((await server.api('/api/events', { token: '', headers: { Accept: 'text/event-stream' } })).status, 401);
  const plain = await server.api<{ error: { code: string } }>('/api/events');
  assert.equal(plain.status, 406);
  assert.equal(plain.body.error.code, 'EVENTS_ONLY');
});

test('the projects list carries each project’s newest run, and runs filter by the event that started them', async () => {
  await server.push(repo, 'lively');
  await server.waitForRun('lively', 1);
  const manual = await server.api<{ number: number }>('/api/projects/lively/runs', { method: 'POST', body: {} });
  assert.equal(manual.status, 201);
  const done = await server.waitForRun('lively', manual.body.number);
  const { body } = await server.api<{ projects: Array<{ name: string; lastRun?: { id: string; number: number } }> }>('/api/projects');
  const lively = body.projects.find((p) => p.name === 'lively');
  assert.equal(lively?.lastRun?.id, done.id, 'the newest run is the manual one');
  await server.api('/api/projects', { method: 'POST', body: { name: 'quiet' } });
  const quiet = (await server.api<{ projects: Array<{ name: string; lastRun?: unknown }> }>('/api/projects')).body.projects.find((p) => p.name === 'quiet');
  assert.ok(quiet && quiet.lastRun === undefined, 'a project without runs has no last run');

  const manualRuns = await server.api<{ runs: Array<{ number: number; trigger: { event: string } }> }>('/api/runs?project=lively&event=manual');
  assert.deepEqual(manualRuns.body.runs.map((r) => r.number), [manual.body.number]);
  const pushed = await server.api<{ runs: Array<{ trigger: { event: string } }> }>('/api/runs?project=lively&event=push');
  assert.ok(pushed.body.runs.length >= 1 && pushed.body.runs.every((r) => r.trigger.event === 'push'));
  const bogus = await server.api<{ error: { code: string; fields: Array<{ field: string }> } }>('/api/runs?event=cron%27--');
  assert.equal(bogus.status, 422);
  assert.equal(bogus.body.error.code, 'FILTER_INVALID');
});
