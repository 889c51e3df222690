// Prometheus metrics at /metrics: counters kept in the process, and gauges read from the store
// when scraped (runs by status, queue depth), in the text exposition format.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunState, Store } from '../store/types.js';
import type { Runner, RunHub, StepObservation } from './runner.js';

type Labels = Record<string, string>;

/** One series per set of label values, whatever order they were given in. */
function seriesKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort());
}

function labelsOf(key: string): Labels {
  return Object.fromEntries(JSON.parse(key) as Array<[string, string]>);
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = seriesKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${formatLabels(labelsOf(key))} ${value}`);
    return lines.join('\n');
  }
}

/** Cumulative buckets, as Prometheus histograms are: each bucket counts observations ≤ its bound. */
class Histogram {
  private readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const key = seriesKey(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    this.bounds.forEach((bound, i) => {
      if (value <= bound) series.buckets[i]! += 1;
    });
    series.sum += value;
    series.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, series] of this.series) {
      const labels = labelsOf(key);
      this.bounds.forEach((bound, i) => lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: String(bound) })} ${series.buckets[i]}`));
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${series.count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${series.sum}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${series.count}`);
    }
    return lines.join('\n');
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

const RUN_STATES: readonly RunState[] = ['queued', 'running', 'success', 'failure', 'cancelled', 'interrupted'];

export class Metrics {
  readonly webhookDeliveries = new Counter('slipway_webhook_deliveries_total', 'Webhook deliveries by provider and outcome.');
  readonly httpRequests = new Counter('slipway_http_requests_total', 'HTTP requests by area and status class.');
  readonly httpSeconds = new Counter('slipway_http_request_seconds_total', 'Time spent answering HTTP requests, by area.');
  readonly registryBytes = new Counter('slipway_registry_response_bytes_total', 'Bytes the registry answered with.');
  readonly stepSeconds = new Histogram('slipway_step_duration_seconds', 'How long steps took, by outcome.', [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600]);

  /** Observes the steps the runner finishes (its hub's `step` events). */
  follow(hub: RunHub): void {
    hub.on('step', (step: StepObservation) => this.stepSeconds.observe(step.durationMs / 1000, { outcome: step.outcome }));
  }

  observeRequest(req: IncomingMessage, res: ServerResponse, startedNs: bigint): void {
    const path = req.url ?? '/';
    const area = path.startsWith('/v2') ? 'registry' : path.startsWith('/git/') ? 'git' : path.startsWith('/hooks/') ? 'hooks' : path.startsWith('/api/') ? 'api' : 'other';
    const status = `${Math.floor(res.statusCode / 100)}xx`;
    this.httpRequests.inc({ area, status });
    this.httpSeconds.inc({ area }, Number(process.hrtime.bigint() - startedNs) / 1e9);
    const length = Number(res.getHeader('content-length') ?? 0);
    if (area === 'registry' && Number.isFinite(length)) this.registryBytes.inc({}, length);
  }

  async render(store: Store, runner: Runner): Promise<string> {
    const [byStatus, rollouts] = await Promise.all([
      Promise.all(RUN_STATES.map(async (status) => [status, await store.countRuns({ status })] as const)),
      store.countRevisions(),
    ]);
    const gauges = [
      '# HELP slipway_runs Runs in the store by status.',
      '# TYPE slipway_runs gauge',
      ...byStatus.map(([status, count]) => `slipway_runs{status="${status}"} ${count}`),
      '# HELP slipway_run_queue_depth Runs waiting for a worker.',
      '# TYPE slipway_run_queue_depth gauge',
      `slipway_run_queue_depth ${byStatus.find(([s]) => s === 'queued')?.[1] ?? 0}`,
      '# HELP slipway_runs_active Runs this server is executing now.',
      '# TYPE slipway_runs_active gauge',
      `slipway_runs_active ${runner.activeCount}`,
      // from the store, so they count every rollout of every replica, before and after restarts
      '# HELP slipway_rollouts_total Rollouts recorded, by deploy target and outcome (in-progress, healthy, failed, rolled-back).',
      '# TYPE slipway_rollouts_total counter',
      ...rollouts.map((r) => `slipway_rollouts_total${formatLabels({ target: r.target, outcome: r.outcome })} ${r.count}`),
    ];
    return [...gauges, this.webhookDeliveries.render(), this.httpRequests.render(), this.httpSeconds.render(), this.registryBytes.render(), this.stepSeconds.render()].join('\n') + '\n';
  }
}
