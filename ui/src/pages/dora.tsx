// DORA's four keys for a project (or all) and an environment over 7, 30 or 90 days: four cards, each
// with a small bar chart comparing the three windows. The choice lives in the URL so it can be shared.
import type { JSX } from 'preact';
import { api } from '../api.js';
import { usePolled } from '../live.js';
import { navigate, useLocation } from '../router.js';
import { duration } from '../format.js';
import { ErrorNote } from '../components/status.js';
import type { Dora } from '../../../src/api/index.js';

const WINDOWS = [7, 30, 90] as const;
type WindowDays = (typeof WINDOWS)[number];

interface Metric {
  key: string;
  title: string;
  /** what the number means, under it */
  means: string;
  value: (d: Dora) => number | undefined;
  /** `v` in words; `all` are the three windows' values, so that they read in one unit */
  format: (v: number, all: Array<number | undefined>) => string;
}

/** A rate per day, per week or per month: the unit the largest of `all` reads best in. */
function perPeriod(perDay: number, all: Array<number | undefined>): string {
  const top = Math.max(perDay, ...all.map((v) => v ?? 0));
  if (top >= 1) return `${perDay.toFixed(top >= 10 ? 0 : 1)} / day`;
  if (top * 7 >= 1) return `${(perDay * 7).toFixed(1)} / week`;
  return `${(perDay * 30).toFixed(1)} / month`;
}

const METRICS: Metric[] = [
  { key: 'frequency', title: 'Deployment frequency', means: 'healthy deploys, as a rate over the window', value: (d) => d.deploymentFrequencyPerDay, format: perPeriod },
  { key: 'lead', title: 'Lead time for changes', means: 'median time from commit to serving', value: (d) => d.leadTimeMedianMs, format: (v) => duration(v) },
  { key: 'failure', title: 'Change failure rate', means: 'failed or rolled-back deploys of all finished ones', value: (d) => d.changeFailureRate, format: (v) => `${Math.round(v * 100)}%` },
  { key: 'restore', title: 'Time to restore', means: 'median time from a failed deploy to the next healthy one', value: (d) => d.timeToRestoreMedianMs, format: (v) => duration(v) },
];

const isEmpty = (d: Dora): boolean => d.deployments === 0 && d.changeFailureRate === undefined;

/** Three horizontal bars, one per window, the chosen one marked; drawn in SVG, styled by classes. */
function WindowBars({ metric, byWindow, days }: { metric: Metric; byWindow: Dora[]; days: WindowDays }): JSX.Element {
  const values = byWindow.map((d) => metric.value(d));
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const rowHeight = 22;
  const labelWidth = 34;
  const valueWidth = 78;
  const width = 260;
  const barSpace = width - labelWidth - valueWidth - 8;
  const summary = WINDOWS.map((w, i) => `${w} days: ${values[i] === undefined ? 'no data' : metric.format(values[i]!, values)}`).join('; ');
  return (
    <svg class="dora-chart" viewBox={`0 0 ${width} ${rowHeight * WINDOWS.length}`} role="img" aria-label={`${metric.title} over 7, 30 and 90 days — ${summary}`}>
      {WINDOWS.map((w, i) => {
        const v = values[i];
        const y = i * rowHeight;
        const barWidth = v === undefined || max === 0 ? 0 : Math.max(2, (v / max) * barSpace);
        return (
          <g key={w} class={w === days ? 'chosen' : undefined}>
            <text class="dora-label" x={0} y={y + 15}>
              {w} d
            </text>
            <rect class="dora-track" x={labelWidth} y={y + 4} width={barSpace} height={rowHeight - 8} rx={3} />
            <rect class="dora-bar" x={labelWidth} y={y + 4} width={barWidth} height={rowHeight - 8} rx={3} />
            <text class="dora-value" x={width} y={y + 15}>
              {v === undefined ? '–' : metric.format(v, values)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function MetricCard({ metric, byWindow, days }: { metric: Metric; byWindow: Dora[]; days: WindowDays }): JSX.Element {
  const chosen = byWindow[WINDOWS.indexOf(days)]!;
  const v = metric.value(chosen);
  const all = byWindow.map((d) => metric.value(d));
  let note = metric.means;
  if (v === undefined) {
    if (metric.key === 'lead') note = 'no healthy deploy with a known commit time in the window';
    else if (metric.key === 'restore') note = chosen.changeFailureRate ? 'no failure restored yet in the window' : 'no failed deploy in the window';
    else note = 'no finished deploy in the window';
  }
  return (
    <article class="dora-card" aria-labelledby={`dora-${metric.key}`}>
      <h2 id={`dora-${metric.key}`}>{metric.title}</h2>
      <p class="dora-number">{v === undefined ? '–' : metric.format(v, all)}</p>
      <p class="hint">
        {note}
        {metric.key === 'frequency' ? ` · ${chosen.deployments} in ${days} days` : ''}
      </p>
      <WindowBars metric={metric} byWindow={byWindow} days={days} />
    </article>
  );
}

export function DoraPage(): JSX.Element {
  const loc = useLocation();
  const project = loc.query.get('project') ?? '';
  const environment = loc.query.get('environment') || 'production';
  const asked = Number(loc.query.get('days'));
  const days: WindowDays = (WINDOWS as readonly number[]).includes(asked) ? (asked as WindowDays) : 30;
  const choose = (change: { project?: string; environment?: string; days?: WindowDays }): void => {
    const next = { project, environment, days, ...change };
    const query = new URLSearchParams();
    if (next.project) query.set('project', next.project);
    query.set('environment', next.environment);
    query.set('days', String(next.days));
    navigate(`/dora?${query.toString()}`, { replace: true });
  };

  const projects = usePolled(() => api.call('listProjects'), [], 30000);
  const status = usePolled(() => api.call('status', {}), [], 30000);
  const metrics = usePolled(
    () => Promise.all(WINDOWS.map((w) => api.call('dora', { query: { project: project || undefined, environment, days: String(w) } }))),
    [project, environment],
    15000,
  );
  const environments = [...new Set(['production', environment, ...(status.value?.environments ?? []).map((e) => e.environment)])].sort();
  const byWindow = metrics.value;
  const chosen = byWindow?.[WINDOWS.indexOf(days)];
  const scope = `${environment}${project ? ` of ${project}` : ''}`;

  return (
    <main class="dora">
      <h1>DORA metrics</h1>
      <div class="filters">
        <div class="pick">
          <label for="dora-project">Project</label>
          <select id="dora-project" value={project} onChange={(e) => choose({ project: (e.target as HTMLSelectElement).value })}>
            <option value="">All projects</option>
            {(projects.value?.projects ?? []).map((p) => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
            {project && projects.value && !projects.value.projects.some((p) => p.name === project) ? <option value={project}>{project}</option> : null}
          </select>
        </div>
        <div class="pick">
          <label for="dora-environment">Environment</label>
          <select id="dora-environment" value={environment} onChange={(e) => choose({ environment: (e.target as HTMLSelectElement).value })}>
            {environments.map((env) => (
              <option key={env} value={env}>
                {env}
              </option>
            ))}
          </select>
        </div>
        <div class="segmented" role="group" aria-label="Window">
          {WINDOWS.map((w) => (
            <button key={w} type="button" aria-pressed={w === days} onClick={() => choose({ days: w })}>
              {w} days
            </button>
          ))}
        </div>
      </div>
      <ErrorNote error={metrics.error ?? projects.error} />
      {!byWindow || !chosen ? (
        metrics.error ? null : (
          <p class="loading">Loading the metrics…</p>
        )
      ) : byWindow.every(isEmpty) ? (
        <div class="empty">
          <p>
            <strong>No deployments to {scope} in the last 90 days.</strong>
          </p>
          <p class="hint">
            The metrics come from the revision history: a pipeline's deploy job or <code>slipway deploy</code> adds a revision when its rollout ends. Pick another
            environment or project, or deploy.
          </p>
        </div>
      ) : (
        <>
          {isEmpty(chosen) ? (
            <p class="empty" role="status">
              No deployments to {scope} in the last {days} days; the charts compare the longer windows.
            </p>
          ) : (
            <p class="hint">
              {scope} · last {days} days · {chosen.deployments} healthy deploys
            </p>
          )}
          <div class="dora-cards">
            {METRICS.map((m) => (
              <MetricCard key={m.key} metric={m} byWindow={byWindow} days={days} />
            ))}
          </div>
        </>
      )}
    </main>
  );
}
