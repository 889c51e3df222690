// Prometheus metrics at /metrics, through prom-client: counters kept in the process, gauges read from
// the store when scraped (runs by status, queue depth, rollouts), and node's own process metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RUN_STATES, type RunState, type Store } from '../store/types.js';
import type { Runner, RunHub, StepObservation } from './runs/index.js';

type HistogramLines = Awaited<ReturnType<Histogram['get']>>;
type HistogramLine = HistogramLines['values'][number];

declare module 'prom-client' {
  interface Histogram<T extends string = string> {
    /** prom-client 15's own (not in its typings): what `Registry#metrics()` writes a histogram's
     *  lines from; a bucket line's `labels` is its `le`, the series' labels are `sharedLabels`. */
    getForPromString(): Promise<Omit<HistogramLines, 'values'> & { values: Array<HistogramLine & { sharedLabels?: HistogramLine['labels'] }> }>;
  }
}

/**
 * prom-client writes a bucket's `le` before the series' labels; Prometheus' own Go client, and this
 * server before prom-client, write it last (`{outcome="success",le="+Inf"}`). Prometheus reads
 * either; text-level checks of a scrape (ours, and users' greps) keep working with the old order.
 */
class LeLastHistogram<T extends string> extends Histogram<T> {
  override async getForPromString(): ReturnType<Histogram<T>['getForPromString']> {
    const data = await super.getForPromString();
    return { ...data, values: data.values.map(({ labels, sharedLabels, ...line }) => ({ ...line, labels: { ...sharedLabels, ...labels } })) };
  }
}

/** What a scrape reads from the store and the runner (the server passes its own). */
export type MetricsStore = Pick<Store, 'countRuns' | 'countRevisions'>;
export type MetricsRunner = Pick<Runner, 'activeCount'>;


/** One scrape's sources; the store's run counts are read once and shared by the gauges that use them. */
interface Scrape {
  store: MetricsStore;
  runner: MetricsRunner;
  runsByStatus?: Promise<Array<readonly [RunState, number]>>;
}

function runsByStatus(scrape: Scrape): Promise<Array<readonly [RunState, number]>> {
  scrape.runsByStatus ??= Promise.all(RUN_STATES.map(async (status) => [status, await scrape.store.countRuns({ status })] as const));
  return scrape.runsByStatus;
}

export class Metrics {
  // one registry per server: tests run several servers in one process, and each counts its own
  private readonly registry = new Registry();
  private scrape?: Scrape;

  // Read at scrape time, in collect callbacks. Each takes its scrape's sources before its first
  // await (the registry starts them all at once) and sets its values in one go after its last, so
  // an overlapping scrape never sees a half-written counter.
  private readonly runs = this.storeGauge('slipway_runs', 'Runs in the store by status.', ['status'], async (scrape, gauge) => {
    const counts = await runsByStatus(scrape);
    for (const [status, count] of counts) gauge.set({ status }, count);
  });
  private readonly queueDepth = this.storeGauge('slipway_run_queue_depth', 'Runs waiting for a worker.', [], async (scrape, gauge) => {
    const counts = await runsByStatus(scrape);
    gauge.set(counts.find(([status]) => status === 'queued')?.[1] ?? 0);
  });
  private readonly runsActive = this.storeGauge('slipway_runs_active', 'Runs this server is executing now.', [], async (scrape, gauge) => {
    gauge.set(scrape.runner.activeCount);
  });
  // from the store, so they count every rollout of every replica, before and after restarts
  private readonly rollouts = new Counter({
    name: 'slipway_rollouts_total',
    help: 'Rollouts recorded, by deploy target and outcome (in-progress, healthy, failed, rolled-back).',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
    collect: async () => {
      const scrape = this.scrape;
      if (!scrape) return;
      const counts = await scrape.store.countRevisions();
      this.rollouts.reset();
      for (const { target, outcome, count } of counts) this.rollouts.inc({ target, outcome }, count);
    },
  });

  readonly webhookDeliveries = new Counter({
    name: 'slipway_webhook_deliveries_total',
    help: 'Webhook deliveries by provider and outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'slipway_http_requests_total',
    help: 'HTTP requests by area and status class.',
    labelNames: ['area', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpSeconds = new Counter({
    name: 'slipway_http_request_seconds_total',
    help: 'Time spent answering HTTP requests, by area.',
    labelNames: ['area'] as const,
    registers: [this.registry],
  });
  readonly registryBytes = new Counter({
    name: 'slipway_registry_response_bytes_total',
    help: 'Bytes the registry answered with.',
    registers: [this.registry],
  });
  readonly stepSeconds = new LeLastHistogram({
    name: 'slipway_step_duration_seconds',
    help: 'How long steps took, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  constructor() {
    // node's process metrics under the names every Node.js dashboard and alert uses (process_*,
    // nodejs_*), as every Prometheus client library names its process collector; the job label
    // tells them apart from other programs'
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of what render() returns (Prometheus' text format, version 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Observes the steps the runner finishes (its hub's `step` events). */
  follow(hub: RunHub): void {
    hub.on('step', (step: StepObservation) => this.stepSeconds.observe({ outcome: step.outcome }, step.durationMs / 1000));
  }

  observeRequest(req: IncomingMessage, res: ServerResponse, startedNs: bigint): void {
    const path = req.url ?? '/';
    const area = path.startsWith('/v2') ? 'registry' : path.startsWith('/git/') ? 'git' : path.startsWith('/hooks/') ? 'hooks' : path.startsWith('/api/') ? 'api' : 'other';
    const status = `${Math.floor(res.statusCode / 100)}xx`;
    this.httpRequests.inc({ area, status });
    this.httpSeconds.inc({ area }, Number(process.hrtime.bigint() - startedNs) / 1e9);
    const length = Number(res.getHeader('content-length') ?? 0);
    if (area === 'registry' && Number.isFinite(length) && length >= 0) this.registryBytes.inc(length);
  }

  /** One scrape: every metric, with the store's and the runner's read now, in `contentType`. */
  async render(store: MetricsStore, runner: MetricsRunner): Promise<string> {
    this.scrape = { store, runner };
    return this.registry.metrics();
  }

  private storeGauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (scrape: Scrape, gauge: Gauge<L>) => Promise<void>): Gauge<L> {
    const gauge: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect: async () => {
        const scrape = this.scrape;
        if (scrape) await read(scrape, gauge);
      },
    });
    return gauge;
  }
}
