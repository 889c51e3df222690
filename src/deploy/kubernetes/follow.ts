// Following a rollout the way `kubectl rollout status` does: by watching the Deployment (resuming
// from the last resourceVersion, listing again after 410 Gone), never by polling in a loop. The
// Deployment's pods are watched too, so a new version that crash-loops fails fast and every
// failure says which pods fail and why, with their last events.
import { Watch, type CoreV1Event, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { toDeployError, type KubeClients } from './client.js';
import { describeProblems, podProblems } from './diagnose.js';
import { progressLine, rolloutStatus } from './rollout-status.js';

export interface FollowOptions {
  clients: KubeClients;
  namespace: string;
  name: string;
  signal: AbortSignal;
  onProgress: (line: string) => void;
  /** Slipway's own bound: the Deployment's progress deadline plus a grace for the controller to say so */
  timeoutMs: number;
  /** a new pod restarted this many times in a crash loop fails the rollout before the deadline */
  crashLoopRestarts: number;
}

export type FollowResult = { ok: true; deployment: V1Deployment } | { ok: false; code: 'ROLLOUT_PROGRESS_DEADLINE' | 'ROLLOUT_UNHEALTHY'; reason: string };

interface WatchHandle {
  stop(): void;
}

/**
 * Watches `path` from `resourceVersion`, reconnecting where it left off when the server closes the
 * stream, and calling `relist` (which returns a fresh resourceVersion) after 410 Gone.
 */
function watchFrom(
  clients: KubeClients,
  path: string,
  query: Record<string, string>,
  resourceVersion: string,
  onEvent: (type: string, obj: { metadata?: { resourceVersion?: string } }) => void,
  relist: () => Promise<string>,
  onError: (err: unknown) => void,
): WatchHandle {
  const watch = new Watch(clients.config);
  let stopped = false;
  let rv = resourceVersion;
  let current: AbortController | undefined;
  let failures = 0;
  const start = async (): Promise<void> => {
    if (stopped) return;
    let gone = false;
    current = await watch.watch(
      path,
      { ...query, resourceVersion: rv, allowWatchBookmarks: 'true' },
      (type, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
        if (type === 'ERROR') {
          if (obj.code === 410) gone = true;
          return;
        }
        if (obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
        if (type !== 'BOOKMARK') onEvent(type, obj);
      },
      (err: unknown) => {
        if (stopped) return;
        const code = (err as { statusCode?: number } | null)?.statusCode;
        if (gone || code === 410) {
          relist().then((fresh) => {
            rv = fresh;
            return start();
          }, onError);
        } else if (err && code !== undefined) {
          onError(err);
        } else if (err && ++failures > 5) {
          // the cluster went away mid-rollout: say so rather than wait for the deadline
          onError(err);
        } else {
          // the server ended the stream (timeout) or the connection dropped: resume where we were
          if (!err) failures = 0;
          setTimeout(() => void start().catch(onError), err ? 500 * failures : 0);
        }
      },
    );
    if (stopped) current.abort();
  };
  start().catch(onError);
  return {
    stop() {
      stopped = true;
      current?.abort();
    },
  };
}

export async function followRollout(options: FollowOptions): Promise<FollowResult> {
  const { clients, namespace, name } = options;
  const doing = `watch the rollout of deployment ${name} in namespace ${namespace}`;
  const getDeployment = async () => {
    try {
      return await clients.apps.readNamespacedDeployment({ name, namespace });
    } catch (err) {
      throw toDeployError(err, clients.server, doing);
    }
  };
  const initial = await getDeployment();
  const selector = Object.entries(initial.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = new Map<string, V1Pod>();
  let newHash: { revision: string; hash?: string } | undefined;

  return new Promise<FollowResult>((resolve, reject) => {
    const handles: WatchHandle[] = [];
    let settled = false;
    let lastLine = '';
    const finish = (result: FollowResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      for (const h of handles) h.stop();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const fail = (code: 'ROLLOUT_PROGRESS_DEADLINE' | 'ROLLOUT_UNHEALTHY', headline: string) => {
      if (settled) return;
      explain().then(
        (why) => finish({ ok: false, code, reason: why ? `${headline}\n  ${why}` : headline }),
        () => finish({ ok: false, code, reason: headline }),
      );
    };
    const onAbort = () => finish(options.signal.reason instanceof Error ? options.signal.reason : new Error('the rollout was cancelled'));
    options.signal.addEventListener('abort', onAbort);
    const timer = setTimeout(() => fail('ROLLOUT_PROGRESS_DEADLINE', `deployment "${name}" did not finish its rollout within ${Math.round(options.timeoutMs / 1000)}s`), options.timeoutMs);
    if (options.signal.aborted) {
      onAbort();
      return;
    }

    let latest = initial;
    const evaluate = (d: V1Deployment) => {
      latest = d;
      const status = rolloutStatus(d);
      if (status.error) return fail('ROLLOUT_PROGRESS_DEADLINE', `${status.error} (progressDeadlineSeconds ${d.spec?.progressDeadlineSeconds ?? 600})`);
      if (status.done) return finish({ ok: true, deployment: d });
      const line = `deployment/${name}: ${progressLine(d)}`;
      if (line !== lastLine && (d.metadata?.generation ?? 0) <= (d.status?.observedGeneration ?? 0)) {
        lastLine = line;
        options.onProgress(line);
      }
      void checkPods();
    };

    // the pods of the new ReplicaSet carry its pod-template-hash; look it up once per revision
    const newPodHash = async (): Promise<string | undefined> => {
      const revision = latest.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '';
      if (newHash?.revision === revision) return newHash.hash;
      const list = await clients.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector });
      const rs = list.items.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision && r.metadata?.ownerReferences?.some((o) => o.uid === latest.metadata?.uid));
      newHash = { revision, hash: rs?.metadata?.labels?.['pod-template-hash'] };
      return newHash.hash;
    };
    const checkPods = async () => {
      const crashing = [...pods.values()].filter((p) => (p.status?.containerStatuses ?? []).some((cs) => cs.state?.waiting?.reason === 'CrashLoopBackOff' && (cs.restartCount ?? 0) >= options.crashLoopRestarts));
      if (crashing.length === 0) return;
      const hash = await newPodHash().catch(() => undefined);
      const fresh = crashing.filter((p) => hash !== undefined && p.metadata?.labels?.['pod-template-hash'] === hash);
      if (fresh.length > 0) fail('ROLLOUT_UNHEALTHY', `deployment "${name}": new pods are crash-looping (restarted ${options.crashLoopRestarts} or more times)`);
    };

    const explain = async (): Promise<string> => {
      const hash = await newPodHash().catch(() => undefined);
      const list = await clients.core.listNamespacedPod({ namespace, labelSelector: selector });
      const candidates = list.items.filter((p) => hash === undefined || p.metadata?.labels?.['pod-template-hash'] === hash);
      const problems = podProblems(candidates);
      let events: CoreV1Event[] = [];
      try {
        events = (await clients.core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Pod' })).items;
      } catch {
        // events are an explanation, not a requirement: a Role without them still deploys
      }
      const text = describeProblems(problems, events);
      return text || `${progressLine(latest)}; no pod reports an error (waiting for readiness)`;
    };

    const onError = (err: unknown) => finish(toDeployError(err, clients.server, doing));
    handles.push(
      watchFrom(
        clients,
        `/apis/apps/v1/namespaces/${namespace}/deployments`,
        { fieldSelector: `metadata.name=${name}` },
        initial.metadata?.resourceVersion ?? '0',
        (type, obj) => {
          if (type === 'DELETED') fail('ROLLOUT_UNHEALTHY', `deployment "${name}" was deleted during the rollout`);
          else evaluate(obj as V1Deployment);
        },
        async () => {
          const d = await getDeployment();
          evaluate(d);
          return d.metadata?.resourceVersion ?? '0';
        },
        onError,
      ),
    );
    const listPods = async () => {
      const list = await clients.core.listNamespacedPod({ namespace, labelSelector: selector });
      pods.clear();
      for (const p of list.items) pods.set(p.metadata?.name ?? '', p);
      return list.metadata?.resourceVersion ?? '0';
    };
    listPods().then(
      (rv) => {
        if (settled) return;
        handles.push(
          watchFrom(
            clients,
            `/api/v1/namespaces/${namespace}/pods`,
            { labelSelector: selector },
            rv,
            (type, obj) => {
              const pod = obj as V1Pod;
              if (type === 'DELETED') pods.delete(pod.metadata?.name ?? '');
              else pods.set(pod.metadata?.name ?? '', pod);
              void checkPods();
            },
            listPods,
            // pods are for explanations; a watch failure there must not fail the rollout
            () => undefined,
          ),
        );
      },
      () => undefined,
    );
    evaluate(initial);
  });
}
