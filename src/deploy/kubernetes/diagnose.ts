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

/** The last few events about a pod, oldest first, as `Warning BackOff: Back-off restarting…`. */
export function lastEvents(events: CoreV1Event[], podName: string, limit = 3): string[] {
  const time = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? 0).getTime();
  return events
    .filter((e) => e.involvedObject?.name === podName)
    .sort((a, b) => time(a) - time(b))
    .slice(-limit)
    .map((e) => `${e.type ?? 'Normal'} ${e.reason ?? ''}: ${e.message ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`);
}

/** One paragraph for a failed rollout: what each failing pod says, with its last events. */
export function describeProblems(problems: PodProblem[], events: CoreV1Event[]): string {
  if (problems.length === 0) return '';
  return problems
    .slice(0, 3)
    .map((p) => {
      const evs = lastEvents(events, p.pod);
      return `pod ${p.pod}: ${p.reason}${p.restarts ? `, ${p.restarts} restarts` : ''} — ${p.detail}${evs.length ? `\n    events: ${evs.join('\n            ')}` : ''}`;
    })
    .join('\n  ');
}
