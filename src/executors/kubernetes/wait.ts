// Waiting for a job attempt's Pod to start: polled (a short interval, no fixed sleeps) until the
// job container runs and every sidecar has started; failing at once, with what to fix, when it
// cannot: an image that cannot be pulled, a checkout that failed, a container Kubernetes cannot
// create. A Pod no node fits waits, saying so, for as long as the executor's schedule timeout: a
// cluster autoscaler may add a node, or a running job free one.
import type { CoreV1Api, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../../spec/index.js';
import { ExecutorError } from '../types.js';
import { delay, toExecutorError } from './api.js';
import { CHECKOUT_CONTAINER, JOB_CONTAINER } from './pod.js';

const IMAGE_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
const CREATE_FAILURES = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreCreateHookError', 'PreStartHookError']);
const POLL_MS = 200;

export interface PodRef {
  core: CoreV1Api;
  namespace: string;
  name: string;
  /** the API server's address, for messages */
  server: string;
  /** what a container is, for messages ("service db") */
  describe(container: string): string;
}

export interface StartWait {
  /** how long the Pod may stay unschedulable before the job fails; 0: not at all */
  scheduleTimeoutMs: number;
  /** a line for the job's log: why it waits */
  onWaiting(message: string): void;
}

/** Polls until the Pod has started (see above); its last state. */
export async function waitForPodStart(ref: PodRef, signal: AbortSignal, wait: StartWait): Promise<V1Pod> {
  let unschedulableSince: number | undefined;
  let told = '';
  const limit = formatDuration(wait.scheduleTimeoutMs);
  for (;;) {
    signal.throwIfAborted();
    let pod: V1Pod;
    try {
      pod = await ref.core.readNamespacedPod({ name: ref.name, namespace: ref.namespace });
    } catch (err) {
      signal.throwIfAborted();
      throw toExecutorError(err, ref.server, `read pod ${ref.name} in namespace ${ref.namespace}`);
    }
    const failure = await podFailure(ref, pod);
    if (failure) throw failure;
    if (hasStarted(pod)) return pod;
    const unschedulable = unschedulableReason(pod);
    if (unschedulable === undefined) {
      unschedulableSince = undefined;
    } else {
      unschedulableSince ??= Date.now();
      if (Date.now() - unschedulableSince >= wait.scheduleTimeoutMs) {
        throw new ExecutorError('EXECUTOR_FAILED', `no node can run the job's pod ${ref.name}${wait.scheduleTimeoutMs > 0 ? ` (waited ${limit})` : ''}: ${unschedulable}`);
      }
      if (unschedulable !== told) {
        told = unschedulable;
        wait.onWaiting(`waiting up to ${limit} for a node to run the job's pod: ${unschedulable}`);
      }
    }
    await delay(POLL_MS, signal);
  }
}

function hasStarted(pod: V1Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  const expected = pod.spec?.containers.length ?? 0;
  if (statuses.length < expected) return false;
  const job = statuses.find((s) => s.name === JOB_CONTAINER);
  return Boolean(job?.state?.running) && statuses.every((s) => s.state?.running || s.state?.terminated);
}

/** The scheduler's reason when no node fits the Pod (yet), else undefined. */
export function unschedulableReason(pod: V1Pod): string | undefined {
  const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  return condition ? (condition.message ?? 'the scheduler gave no reason') : undefined;
}

/** Why the Pod will not start, or undefined while it may still (an unschedulable Pod may: see waitForPodStart). */
export async function podFailure(ref: PodRef, pod: V1Pod): Promise<ExecutorError | undefined> {
  const specImages = new Map([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => [c.name, c.image ?? '']));
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of all) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && IMAGE_FAILURES.has(waiting.reason)) {
      const image = specImages.get(status.name) || status.image;
      return new ExecutorError(
        'EXECUTOR_IMAGE_NOT_FOUND',
        `image '${image}' (${ref.describe(status.name)}) cannot be pulled: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
      );
    }
    if (waiting?.reason && CREATE_FAILURES.has(waiting.reason)) {
      return new ExecutorError('EXECUTOR_FAILED', `Kubernetes cannot start ${ref.describe(status.name)}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`);
    }
  }
  const checkout = pod.status?.initContainerStatuses?.find((s) => s.name === CHECKOUT_CONTAINER);
  if (failed(checkout)) {
    return new ExecutorError('EXECUTOR_FAILED', `the checkout of the workspace failed (${terminatedText(checkout)})${await tailLog(ref, CHECKOUT_CONTAINER)}`);
  }
  const job = pod.status?.containerStatuses?.find((s) => s.name === JOB_CONTAINER);
  if (job?.state?.terminated) {
    return new ExecutorError('EXECUTOR_FAILED', `the job container stopped before any step ran (${terminatedText(job)})${await tailLog(ref, JOB_CONTAINER)}`);
  }
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') {
    return new ExecutorError('EXECUTOR_FAILED', `the job's pod ${ref.name} ended (${pod.status.phase}${pod.status.reason ? `: ${pod.status.reason}` : ''}${pod.status.message ? `, ${pod.status.message}` : ''})`);
  }
  return undefined;
}

function failed(status: V1ContainerStatus | undefined): status is V1ContainerStatus {
  const terminated = status?.state?.terminated;
  return terminated !== undefined && terminated.exitCode !== 0;
}

export function terminatedText(status: V1ContainerStatus): string {
  const t = status.state?.terminated;
  if (!t) return 'not terminated';
  return `exit code ${t.exitCode}${t.reason ? `, ${t.reason}` : ''}${t.message ? `: ${t.message.trim()}` : ''}`;
}

/** `; last log lines:\n…` of a container, or '' when there are none (or they cannot be read). */
export async function tailLog(ref: Pick<PodRef, 'core' | 'namespace' | 'name'>, container: string): Promise<string> {
  try {
    const text = (await ref.core.readNamespacedPodLog({ name: ref.name, namespace: ref.namespace, container, tailLines: 20 })).trim();
    return text ? `; last log lines:\n${text.slice(-4000)}` : '';
  } catch {
    return '';
  }
}
