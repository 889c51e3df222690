// /metrics keeps the series dashboards and alerts were written against: every family's name, type,
// help and label names, read from a scrape of one Metrics instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Metrics } from './metrics.js';
import { RunHub } from './runs/index.js';
import type { RevisionCount, RunState } from '../store/types.js';

interface Family {
  help?: string;
  type?: string;
  samples: Array<{ name: string; labels: Array<[string, string]>; value: number }>;
}

/** Reads the text exposition format into families by name (a histogram's _bucket/_sum/_count join theirs). */
function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'HELP') f.help = meta[3]!;
      else f.type = meta[3]!;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const labels = [...(sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]);
    const name = sample[1]!;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const owner = base !== name && families.get(base)?.type === 'histogram' ? base : name;
    family(owner).samples.push({ name, labels, value: Number(sample[3]) });
  }
  return families;
}

/** The label names of a family's series, each set in alphabetical order (their order in a line means nothing to Prometheus). */
const labelNames = (f: Family): string[] => [...new Set(f.samples.map((s) => s.labels.map(([k]) => k).sort().join(',')))].sort();
const labelSets = (f: Family | undefined): Array<Record<string, string>> => (f?.samples ?? []).map((s) => Object.fromEntries(s.labels));

/** What /metrics served before prom-client, family by family. */
const EXPECTED: Record<string, { type: string; help: string; labels: string[] }> = {
  slipway_runs: { type: 'gauge', help: 'Runs in the store by status.', labels: ['status'] },
  slipway_run_queue_depth: { type: 'gauge', help: 'Runs waiting for a worker.', labels: [''] },
  slipway_runs_active: { type: 'gauge', help: 'Runs this server is executing now.', labels: [''] },
  slipway_rollouts_total: { type: 'counter', help: 'Rollouts recorded, by deploy target and outcome (in-progress, healthy, failed, rolled-back).', labels: ['outcome,target'] },
  slipway_webhook_deliveries_total: { type: 'counter', help: 'Webhook deliveries by provider and outcome.', labels: ['outcome,provider'] },
  slipway_http_requests_total: { type: 'counter', help: 'HTTP requests by area and status class.', labels: ['area,status'] },
  slipway_http_request_seconds_total: { type: 'counter', help: 'Time spent answering HTTP requests, by area.', labels: ['area'] },
  slipway_registry_response_bytes_total: { type: 'counter', help: 'Bytes the registry answered with.', labels: [''] },
  slipway_step_duration_seconds: { type: 'histogram', help: 'How long steps took, by outcome.', labels: ['le,outcome', 'outcome'] },
};
const STEP_BOUNDS = ['0.1', '0.5', '1', '5', '10', '30', '60', '300', '900', '3600', '+Inf'];

const RUNS: Record<RunState, number> = { queued: 3, running: 2, waiting: 1, success: 7, failure: 1, cancelled: 0, interrupted: 0 };
const ROLLOUTS: RevisionCount[] = [
  { target: 'docker', outcome: 'healthy', count: 4 },
  { target: 'kubernetes', outcome: 'rolled-back', count: 1 },
];

function fakeStore(runs = RUNS, rollouts = ROLLOUTS) {
  return {
    countRuns: async (filter?: { status?: RunState }) => (filter?.status ? runs[filter.status] : Object.values(runs).reduce((a, b) => a + b, 0)),
    countRevisions: async () => rollouts,
  };
}

function request(metrics: Metrics, url: string, statusCode: number, contentLength?: number): void {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  const res = new ServerResponse(req);
  res.statusCode = statusCode;
  if (contentLength !== undefined) res.setHeader('content-length', String(contentLength));
  metrics.observeRequest(req, res, process.hrtime.bigint() - 2_000_000n);
}

/** One of everything the server observes, so every family has a series. */
function exercise(metrics: Metrics): void {
  const hub = new RunHub();
  metrics.follow(hub);
  hub.emit('step', { durationMs: 250, outcome: 'success' });
  hub.emit('step', { durationMs: 42_000, outcome: 'failure' });
  metrics.webhookDeliveries.inc({ provider: 'github', outcome: 'accepted' });
  metrics.webhookDeliveries.inc({ provider: 'github', outcome: 'duplicate' });
  request(metrics, '/api/runs', 200);
  request(metrics, '/hooks/github/web', 401);
  request(metrics, '/git/web.git/info/refs', 200);
  request(metrics, '/v2/web/blobs/sha256:abc', 200, 1234);
  request(metrics, '/healthz', 200);
}

test('a scrape has every metric it had before: the same names, types, help and label names', async () => {
  const metrics = new Metrics();
  exercise(metrics);
  const families = parse(await metrics.render(fakeStore(), { activeCount: 2 }));
  for (const [name, expected] of Object.entries(EXPECTED)) {
    const family = families.get(name);
    assert.ok(family, `${name} is missing`);
    assert.equal(family.type, expected.type, name);
    assert.equal(family.help, expected.help, name);
    assert.deepEqual(labelNames(family), expected.labels, name);
  }
  const step = families.get('slipway_step_duration_seconds')!;
  const bounds = step.samples.filter((s) => s.name.endsWith('_bucket') && s.labels[0]?.[1] === 'success').map((s) => s.labels.find(([k]) => k === 'le')?.[1]);
  assert.deepEqual(bounds, STEP_BOUNDS);
  // a bucket's `le` comes after the series' own labels, as Prometheus' Go client writes it
  for (const s of step.samples.filter((s) => s.name.endsWith('_bucket'))) assert.deepEqual(s.labels.map(([k]) => k), ['outcome', 'le']);
});

test('a scrape reads the store and the runner then, and counts what the server observed', async () => {
  const metrics = new Metrics();
  exercise(metrics);
  const families = parse(await metrics.render(fakeStore(), { activeCount: 2 }));
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    families
      .get(name.replace(/_(bucket|sum|count)$/, ''))
      ?.samples.find((s) => s.name === name && s.labels.length === Object.keys(labels).length && s.labels.every(([k, v]) => labels[k] === v))?.value;
  for (const [status, count] of Object.entries(RUNS)) assert.equal(value('slipway_runs', { status }), count, status);
  assert.equal(value('slipway_run_queue_depth'), 3);
  assert.equal(value('slipway_runs_active'), 2);
  assert.equal(value('slipway_rollouts_total', { target: 'docker', outcome: 'healthy' }), 4);
  assert.equal(value('slipway_rollouts_total', { target: 'kubernetes', outcome: 'rolled-back' }), 1);
  assert.equal(value('slipway_webhook_deliveries_total', { provider: 'github', outcome: 'duplicate' }), 1);
  assert.equal(value('slipway_http_requests_total', { area: 'hooks', status: '4xx' }), 1);
  assert.equal(value('slipway_http_requests_total', { area: 'other', status: '2xx' }), 1);
  assert.ok((value('slipway_http_request_seconds_total', { area: 'registry' }) ?? 0) >= 0.002);
  assert.equal(value('slipway_registry_response_bytes_total'), 1234);
  assert.equal(value('slipway_step_duration_seconds_count', { outcome: 'failure' }), 1);
  assert.equal(value('slipway_step_duration_seconds_bucket', { outcome: 'failure', le: '30' }), 0);
  assert.equal(value('slipway_step_duration_seconds_bucket', { outcome: 'failure', le: '60' }), 1);
  assert.equal(value('slipway_step_duration_seconds_sum', { outcome: 'success' }), 0.25);

  // the next scrape reads the store again: a rollout that ended is counted where it ended
  const later = parse(await metrics.render(fakeStore({ ...RUNS, queued: 0 }, [{ target: 'docker', outcome: 'failed', count: 1 }]), { activeCount: 0 }));
  assert.deepEqual(labelSets(later.get('slipway_rollouts_total')), [{ target: 'docker', outcome: 'failed' }]);
  assert.equal(later.get('slipway_run_queue_depth')!.samples[0]!.value, 0);
  assert.equal(later.get('slipway_runs_active')!.samples[0]!.value, 0);
});

test("a scrape has node's process metrics under their usual names, in Prometheus' text format", async () => {
  const metrics = new Metrics();
  assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const families = parse(await metrics.render(fakeStore(), { activeCount: 0 }));
  for (const [name, type] of [
    ['process_cpu_seconds_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
    ['process_start_time_seconds', 'gauge'],
    ['nodejs_heap_size_used_bytes', 'gauge'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
    ['nodejs_version_info', 'gauge'],
  ] as const) {
    if (name === 'process_resident_memory_bytes' && process.platform !== 'linux') continue;
    assert.equal(families.get(name)?.type, type, name);
  }
});

test('two servers in one process keep their own counts', async () => {
  const one = new Metrics();
  const two = new Metrics();
  exercise(one);
  one.webhookDeliveries.inc({ provider: 'gitea', outcome: 'accepted' });
  two.webhookDeliveries.inc({ provider: 'gitlab', outcome: 'ping' });
  const first = parse(await one.render(fakeStore(), { activeCount: 1 }));
  const second = parse(await two.render(fakeStore({ ...RUNS, queued: 9 }, []), { activeCount: 5 }));
  assert.deepEqual(labelSets(second.get('slipway_webhook_deliveries_total')), [{ provider: 'gitlab', outcome: 'ping' }]);
  assert.equal(first.get('slipway_webhook_deliveries_total')!.samples.length, 3);
  assert.equal(second.get('slipway_step_duration_seconds')?.samples.length ?? 0, 0);
  assert.equal(second.get('slipway_http_requests_total')?.samples.length ?? 0, 0);
  assert.equal(second.get('slipway_runs_active')!.samples[0]!.value, 5);
  assert.equal(first.get('slipway_runs_active')!.samples[0]!.value, 1);
  assert.equal(second.get('slipway_run_queue_depth')!.samples[0]!.value, 9);
  assert.equal(first.get('slipway_run_queue_depth')!.samples[0]!.value, 3);
});
