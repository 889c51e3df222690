// Scale events: a change of an environment's replica count without a new revision (`slipway scale`,
// the API, the autoscaler). Both targets append them to the environment's event log, beside its
// revisions, and `slipway history` and the history API show them between the revisions.
//
//   <dataDir>/deploy/<app>/<environment>/events.jsonl   one JSON object a line; scale events have kind "scale"
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkName } from './revisions.js';

export interface ScaleEvent {
  app: string;
  environment: string;
  target: 'docker' | 'kubernetes';
  /** the revision whose replica count changed */
  revision?: number;
  from: number;
  to: number;
  /** who asked: a user or token name, or `autoscaler` */
  by: string;
  /** the autoscaler's reason: "in-flight 12.0 per replica, target 5" */
  cause?: string;
  at: string;
  finishedAt?: string;
  /** healthy: `to` replicas serve; failed: they did not, and the count went back to `from` */
  outcome: 'healthy' | 'failed';
  /** why it failed */
  reason?: string;
}

export interface ScaleRequest {
  app: string;
  environment: string;
  replicas: number;
  by: string;
  /** the autoscaler's reason, recorded with the event */
  cause?: string;
  signal: AbortSignal;
  onProgress: (line: string) => void;
}

export interface ScaleOutcome {
  event: ScaleEvent;
  outcome: 'healthy' | 'failed';
  reason?: string;
  /** the count already was `replicas`: nothing changed, nothing recorded */
  unchanged?: boolean;
}

/** "scaled from 3 to 5 by alice", with the autoscaler's cause and a failure's first line. */
export function scaleMessage(event: ScaleEvent): string {
  return `scaled from ${event.from} to ${event.to} by ${event.by}${event.cause ? ` (${event.cause})` : ''}${event.outcome === 'failed' ? `: failed: ${(event.reason ?? '').split('\n')[0]}` : ''}`;
}

/** The line a scale event is in the event log as (the docker agent's other events share the file). */
export function scaleEventLine(event: ScaleEvent): string {
  return JSON.stringify({ at: event.finishedAt ?? event.at, kind: 'scale', message: scaleMessage(event), scale: event });
}

export function eventsFile(dataDir: string, app: string, environment: string): string {
  checkName('app', app);
  checkName('environment', environment);
  return path.join(dataDir, 'deploy', app, environment, 'events.jsonl');
}

export async function appendScaleEvent(dataDir: string, event: ScaleEvent): Promise<void> {
  const file = eventsFile(dataDir, event.app, event.environment);
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${scaleEventLine(event)}\n`);
}

/** The scale events of an app (one environment, or all), oldest first. */
export async function readScaleEvents(dataDir: string, app: string, environment?: string): Promise<ScaleEvent[]> {
  checkName('app', app);
  const environments = environment !== undefined ? [environment] : await readdir(path.join(dataDir, 'deploy', app)).catch(() => [] as string[]);
  const events: ScaleEvent[] = [];
  for (const env of environments) {
    let text: string;
    try {
      text = await readFile(eventsFile(dataDir, app, env), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('"kind":"scale"')) continue;
      try {
        const parsed = JSON.parse(line) as { kind?: string; scale?: ScaleEvent };
        if (parsed.kind === 'scale' && parsed.scale) events.push(parsed.scale);
      } catch {
        // a line cut short by a crash: the others still count
      }
    }
  }
  return events.sort((a, b) => a.at.localeCompare(b.at));
}
