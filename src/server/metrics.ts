// Prometheus metrics at /metrics: counters kept in the process, and gauges read from the store
// when scraped (runs by status, queue depth), in the text exposition format.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunState, Store } from '../store/types.js';
import type { Runner } from './runner.js';

type Labels = Record<string, string>;

class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = JSON.stringify(Object.entries(labels).sort());
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${formatLabels(Object.fromEntries(JSON.parse(key) as Array<[string, string]>))} ${value}`);
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
    const byStatus = await Promise.all(RUN_STATES.map(async (status) => [status, await store.countRuns({ status })] as const));
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
    ];
    return [...gauges, this.webhookDeliveries.render(), this.httpRequests.render(), this.httpSeconds.render(), this.registryBytes.render()].join('\n') + '\n';
  }
}
