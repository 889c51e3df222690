// A pretend kubelet: pods become Ready, or fail the way real ones do (image pull errors, crash
// loops with growing restart counts, failing readiness probes), with the events a real kubelet
// records. What a container does is decided by rules on its image, which a test sets; the
// default rules mirror what a real cluster does with those images, so the same test passes on
// both: an image from an `.invalid` registry never pulls, busybox with no command exits at once.
import type { Cluster } from './cluster.js';
import type { EventRecorder } from './events.js';
import { isObject, jsonEqual, now, type KObject } from './objects.js';
import { RESOURCES, type ResourceType } from './resources.js';

const POD = RESOURCES.find((r) => r.kind === 'Pod') as ResourceType;

export type PodBehavior = 'ready' | 'pull-error' | 'crash' | 'unready';

export interface PodRule {
  /** matched against the container image: `*` is a wildcard, otherwise a substring */
  image: string;
  behavior: PodBehavior;
  /** how long a container takes to start (and, for `ready`, to pass its readiness probe) */
  startMs?: number;
}

export const DEFAULT_RULES: PodRule[] = [
  { image: '.invalid/', behavior: 'pull-error' },
  { image: 'does-not-exist', behavior: 'pull-error' },
];

interface ContainerSim {
  phase: 'creating' | 'pulling' | 'pull-error' | 'backoff-pull' | 'running' | 'crashed';
  since: number;
  restarts: number;
  lastEventAt: number;
  startedAt?: string;
  lastTermination?: { exitCode: number; reason: string; startedAt: string; finishedAt: string };
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isObject(v) ? v : {});

function matches(pattern: string, image: string): boolean {
  if (!pattern.includes('*')) return image.includes(pattern);
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
  return re.test(image);
}

export class Kubelet {
  private readonly sims = new Map<string, Map<string, ContainerSim>>();
  rules: PodRule[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly events: EventRecorder,
    private readonly timeScale = { startMs: 150, crashAfterMs: 150, backoffBaseMs: 200, backoffMaxMs: 1500, eventEveryMs: 1000 },
  ) {}

  behaviorOf(container: Rec): { behavior: PodBehavior; startMs: number } {
    const image = String(container.image ?? '');
    const rule = [...this.rules, ...DEFAULT_RULES].find((r) => matches(r.image, image));
    if (rule) return { behavior: rule.behavior, startMs: rule.startMs ?? this.timeScale.startMs };
    // busybox's default command is a shell, which exits at once without a terminal: a crash loop
    const hasCommand = Array.isArray(container.command) || Array.isArray(container.args);
    if (/(^|\/)busybox(:|@|$)/.test(image) && !hasCommand) return { behavior: 'crash', startMs: this.timeScale.startMs };
    return { behavior: 'ready', startMs: this.timeScale.startMs };
  }

  tick(): void {
    const live = new Set<string>();
    for (const pod of this.cluster.store.list(POD)) {
      live.add(pod.metadata.uid);
      try {
        this.syncPod(pod);
      } catch {
        // the pod went away meanwhile
      }
    }
    for (const uid of this.sims.keys()) if (!live.has(uid)) this.sims.delete(uid);
  }

  private syncPod(pod: KObject): void {
    const t = Date.now();
    const containers = (Array.isArray(rec(pod.spec).containers) ? (rec(pod.spec).containers as Rec[]) : []).filter(isObject);
    let sims = this.sims.get(pod.metadata.uid);
    if (!sims) {
      sims = new Map();
      this.sims.set(pod.metadata.uid, sims);
      this.events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to double-node`, 'default-scheduler');
    }
    const statuses: Rec[] = [];
    for (const container of containers) {
      const name = String(container.name);
      const image = String(container.image);
      const fieldPath = `spec.containers{${name}}`;
      const { behavior, startMs } = this.behaviorOf(container);
      let sim = sims.get(name);
      if (!sim) {
        sim = { phase: 'creating', since: t, restarts: 0, lastEventAt: 0 };
        sims.set(name, sim);
        this.events.record(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, 'kubelet', fieldPath);
      }
      const elapsed = t - sim.since;
      const emit = (type: 'Normal' | 'Warning', reason: string, message: string, repeat = false) => {
        if (repeat && t - sim.lastEventAt < this.timeScale.eventEveryMs) return;
        sim.lastEventAt = t;
        this.events.record(pod, type, reason, message, 'kubelet', fieldPath);
      };
      switch (behavior) {
        case 'pull-error':
          if (sim.phase === 'creating' && elapsed >= startMs) {
            sim.phase = 'pull-error';
            sim.since = t;
            emit('Warning', 'Failed', `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": not found`);
            emit('Warning', 'Failed', 'Error: ErrImagePull');
          } else if (sim.phase === 'pull-error' && elapsed >= startMs) {
            sim.phase = 'backoff-pull';
            sim.since = t;
          } else if (sim.phase === 'backoff-pull') {
            emit('Normal', 'BackOff', `Back-off pulling image "${image}"`, true);
            this.events.record(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet', fieldPath);
          }
          break;
        case 'ready':
        case 'unready':
          if (sim.phase === 'creating' && elapsed >= startMs) {
            sim.phase = 'running';
            sim.since = t;
            sim.startedAt = now();
            emit('Normal', 'Pulled', `Successfully pulled image "${image}"`);
            emit('Normal', 'Created', `Created container ${name}`);
            emit('Normal', 'Started', `Started container ${name}`);
          } else if (sim.phase === 'running' && behavior === 'unready') {
            const probe = rec(container.readinessProbe);
            const what = isObject(probe.httpGet) ? 'HTTP probe failed with statuscode: 503' : isObject(probe.tcpSocket) ? `dial tcp 10.244.0.1:${String(rec(probe.tcpSocket).port)}: connect: connection refused` : 'command exited with 1';
            emit('Warning', 'Unhealthy', `Readiness probe failed: ${what}`, true);
          }
          break;
        case 'crash':
          if ((sim.phase === 'creating' && elapsed >= startMs) || (sim.phase === 'crashed' && elapsed >= Math.min(this.timeScale.backoffBaseMs * 2 ** (sim.restarts - 1), this.timeScale.backoffMaxMs))) {
            sim.phase = 'running';
            sim.since = t;
            sim.startedAt = now();
            emit('Normal', 'Created', `Created container ${name}`);
            emit('Normal', 'Started', `Started container ${name}`);
          } else if (sim.phase === 'running' && elapsed >= this.timeScale.crashAfterMs) {
            sim.phase = 'crashed';
            sim.since = t;
            sim.restarts++;
            sim.lastTermination = { exitCode: 1, reason: 'Error', startedAt: sim.startedAt ?? now(), finishedAt: now() };
            this.events.record(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`, 'kubelet', fieldPath);
          }
          break;
      }
      statuses.push(this.containerStatus(name, image, sim, behavior, pod));
    }
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready === true);
    const anyStarted = statuses.some((s) => isObject(s.state) && ('running' in s.state || Number(s.restartCount) > 0));
    const old = rec(pod.status);
    const cond = (type: string, ok: boolean, reason?: string) => {
      const prev = (Array.isArray(old.conditions) ? (old.conditions as Rec[]) : []).find((c) => c.type === type);
      const status = ok ? 'True' : 'False';
      return { type, status, lastProbeTime: null, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now(), ...(reason && !ok ? { reason } : {}) };
    };
    const status: Rec = {
      phase: anyStarted ? 'Running' : 'Pending',
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', true),
        cond('Ready', allReady, 'ContainersNotReady'),
        cond('ContainersReady', allReady, 'ContainersNotReady'),
        cond('PodScheduled', true),
      ],
      hostIP: '10.0.0.2',
      hostIPs: [{ ip: '10.0.0.2' }],
      podIP: `10.244.0.${(parseInt(pod.metadata.uid.slice(0, 2), 16) % 250) + 2}`,
      startTime: old.startTime ?? pod.metadata.creationTimestamp,
      containerStatuses: statuses,
      qosClass: 'BestEffort',
    };
    status.podIPs = [{ ip: status.podIP }];
    if (!allReady) {
      const notReady = statuses.filter((s) => s.ready !== true).map((s) => String(s.name));
      for (const c of status.conditions as Rec[]) {
        if ((c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'False') c.message = `containers with unready status: [${notReady.join(' ')}]`;
      }
    }
    if (!jsonEqual(status, pod.status)) this.cluster.update(POD, { ...pod, status }, { manager: 'kubelet', subresource: 'status' });
  }

  private containerStatus(name: string, image: string, sim: ContainerSim, behavior: PodBehavior, pod: KObject): Rec {
    let state: Rec;
    if (sim.phase === 'creating') state = { waiting: { reason: 'ContainerCreating' } };
    else if (sim.phase === 'pull-error') state = { waiting: { reason: 'ErrImagePull', message: `failed to pull and unpack image "${image}": not found` } };
    else if (sim.phase === 'backoff-pull') state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } };
    else if (sim.phase === 'crashed') {
      const backoff = Math.min(10 * 2 ** (sim.restarts - 1), 300);
      state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff}s restarting failed container=${name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})` } };
    } else state = { running: { startedAt: sim.startedAt } };
    const running = sim.phase === 'running';
    return {
      name,
      image,
      imageID: running || sim.restarts > 0 ? `docker.io/library/${image.split('@')[0]}@sha256:${'0'.repeat(64)}` : '',
      ...(running || sim.restarts > 0 ? { containerID: `containerd://${pod.metadata.uid.replace(/-/g, '')}${name}` } : {}),
      ready: running && behavior === 'ready',
      started: running,
      restartCount: sim.restarts,
      state,
      lastState: sim.lastTermination ? { terminated: sim.lastTermination } : {},
    };
  }
}
