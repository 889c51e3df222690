// Why pods of a rollout are not becoming ready, in words: image pull errors, crash loops (with the
// restart count and last exit code), failing probes — each with the pod's last events, so a
// failed rollout never hides its reason in a condition.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

export interface PodProblem {
  pod: string;
  reason: string;
  detail: string;
  restarts: number;
}

export function podProblems(pods: V1Pod[]): PodProblem[] {
  const out: PodProblem[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const statuses = pod.status?.containerStatuses ?? [];
    let found: PodProblem | undefined;
    for (const cs of statuses) {
      const waiting = cs.state?.waiting;
      const last = cs.lastState?.terminated;
      if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
        const exit = last ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})` : '';
        found = { pod: name, reason: waiting.reason, detail: `container ${cs.name}: ${waiting.message ?? waiting.reason}${exit}`, restarts: cs.restartCount ?? 0 };
        break;
      }
      if (cs.state?.terminated) {
        found = { pod: name, reason: cs.state.terminated.reason ?? 'Terminated', detail: `container ${cs.name} exited with code ${cs.state.terminated.exitCode}`, restarts: cs.restartCount ?? 0 };
        break;
      }
      if (cs.state?.running && !cs.ready) {
        found = { pod: name, reason: 'NotReady', detail: `container ${cs.name} is running but not ready (its readiness probe fails)`, restarts: cs.restartCount ?? 0 };
      }
    }
    if (!found && pod.status?.phase === 'Pending' && statuses.length === 0) {
      const scheduled = pod.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      if (scheduled) found = { pod: name, reason: scheduled.reason ?? 'Unschedulable', detail: scheduled.message ?? 'the pod cannot be scheduled', restarts: 0 };
    }
    if (found) out.push(found);
  }
  return out;
}

/** The event reasons that explain each pod problem: these are never left out for lack of room. */
const EXPLAINING_EVENTS: Record<string, readonly string[]> = {
  CrashLoopBackOff: ['BackOff'],
  ErrImagePull: ['Failed', 'BackOff'],
  ImagePullBackOff: ['Failed', 'BackOff'],
  InvalidImageName: ['InspectFailed', 'Failed'],
  NotReady: ['Unhealthy'],
  Unschedulable: ['FailedScheduling'],
};

function eventTime(e: CoreV1Event): number {
  // eventTime (events.k8s.io) has microseconds; lastTimestamp only whole seconds
  return new Date(e.series?.lastObservedTime ?? e.eventTime ?? e.lastTimestamp ?? e.firstTimestamp ?? 0).getTime();
}

/**
 * The few events about a pod worth showing, oldest first, as `Warning BackOff: Back-off restarting…`.
 * Timestamps have whole seconds, so "the last three" is not an order a kubelet's burst of events
 * keeps: the events explaining `reason` come first, then warnings, then the newest of the rest.
 */
export function lastEvents(events: CoreV1Event[], podName: string, limit = 3, reason?: string): string[] {
  const explaining = new Set(reason ? (EXPLAINING_EVENTS[reason] ?? []) : []);
  const rank = (e: CoreV1Event): number => (explaining.has(e.reason ?? '') ? 2 : 0) + (e.type === 'Warning' ? 1 : 0);
  const about = events.filter((e) => e.involvedObject?.name === podName);
  const chosen = [...about].sort((a, b) => rank(b) - rank(a) || eventTime(b) - eventTime(a)).slice(0, limit);
  return about
    .filter((e) => chosen.includes(e))
    .sort((a, b) => eventTime(a) - eventTime(b))
    .map((e) => `${e.type ?? 'Normal'} ${e.reason ?? ''}: ${e.message ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`);
}

/** One paragraph for a failed rollout: what each failing pod says, with its last events. */
export function describeProblems(problems: PodProblem[], events: CoreV1Event[]): string {
  if (problems.length === 0) return '';
  return problems
    .slice(0, 3)
    .map((p) => {
      const evs = lastEvents(events, p.pod, 3, p.reason);
      return `pod ${p.pod}: ${p.reason}${p.restarts ? `, ${p.restarts} restarts` : ''} — ${p.detail}${evs.length ? `\n    events: ${evs.join('\n            ')}` : ''}`;
    })
    .join('\n  ');
}
