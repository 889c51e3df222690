// An environment's rollouts to a new revision: a deploy (unless nothing changed) or a rollback to
// an earlier revision, each recorded in the revision history, rolled out with rollout.ts's rolling
// update and, when it fails, rolled back to the current revision.
import { DeployError, type DeployOutcome, type Revision } from '../types.js';
import { isSameRelease, rollbackTarget, unchangedOutcome } from '../changes.js';
import { replicasForRollout } from '../autoscale.js';
import { imageOf } from './images.js';
import { rollOut } from './rollout.js';
import type { RevisionRef, RolloutConfig } from './state.js';
import type { Environment, Progress } from './environment.js';

/** `digest`: the image's local id, resolved by the agent; `force`: roll out even when nothing changed. */
export function deploy(env: Environment, config: RolloutConfig, trigger: Revision['trigger'], progress: Progress, options: { digest?: string; force?: boolean } = {}): Promise<DeployOutcome> {
  return env.exclusive(async () => {
    const release = { image: config.image, config: revisionConfig(config), ...(options.digest !== undefined ? { digest: options.digest } : {}) };
    const current = await currentRevision(env);
    // A revision without a digest (recorded before digests were) cannot vouch for its tag: a change.
    if (current?.digest !== undefined && !options.force && isSameRelease(current, release, { byReference: false })) return unchangedOutcome(current);
    const revision = await env.deps.store.append({
      app: env.state.app,
      environment: env.state.environment,
      target: 'docker',
      ...release,
      trigger,
      createdAt: new Date().toISOString(),
      outcome: 'in-progress',
    });
    if (current && options.force && isSameRelease(current, release, { byReference: false })) progress(`revision ${current.number} already runs this image and config; --force: restarting its replicas as revision ${revision.number}`);
    return roll(env, revision, withLiveCount(env, config, 'deploy', current, progress), progress);
  });
}

/** The revision the environment serves, as its history records it. */
async function currentRevision(env: Environment): Promise<Revision | undefined> {
  const number = env.state.current?.number;
  if (number === undefined) return undefined;
  return (await env.deps.store.list(env.state.app, env.state.environment)).find((r) => r.number === number);
}

export function rollback(env: Environment, to: number | undefined, by: string, progress: Progress): Promise<DeployOutcome> {
  return env.exclusive(async () => {
    const revisions = await env.deps.store.list(env.state.app, env.state.environment);
    const current = revisions.find((r) => r.number === env.state.current?.number);
    const target = rollbackTarget(revisions, current, env.key, to);
    const config = { ...rolloutConfig(target), image: await imageOf(env.deps.docker, target, progress) };
    const revision = await env.deps.store.append({
      app: env.state.app,
      environment: env.state.environment,
      target: 'docker',
      image: target.image,
      ...(target.digest !== undefined ? { digest: target.digest } : {}),
      config: target.config,
      trigger: { by, kind: 'rollback' },
      restoredFrom: target.number,
      createdAt: new Date().toISOString(),
      outcome: 'in-progress',
    });
    progress(`${env.key}: rolling back to revision ${target.number} (${target.image}) as revision ${revision.number}`);
    return roll(env, revision, withLiveCount(env, config, 'rollback', current, progress), progress);
  });
}

/** Once the environment was scaled, the count a new revision starts with (see replicasForRollout). */
function withLiveCount(env: Environment, config: RolloutConfig, kind: 'deploy' | 'rollback', current: Revision | undefined, progress: Progress): RolloutConfig {
  const replicas = replicasForRollout({
    kind,
    replicas: config.replicas,
    autoscale: config.autoscale,
    live: env.state.current?.config.replicas,
    currentReplicas: current?.config.replicas,
    currentAutoscale: current?.config.autoscale !== undefined,
  });
  if (replicas === config.replicas) return config;
  progress(`${replicas} replicas: the count ${env.key} runs now${config.autoscale ? ` (autoscale ${config.autoscale.min}..${config.autoscale.max})` : ''}, not the deploy block's ${config.replicas} (see slipway scale --help)`);
  return { ...config, replicas };
}

async function roll(env: Environment, revision: Revision, config: RolloutConfig, progress: Progress): Promise<DeployOutcome> {
  const ref: RevisionRef = { number: revision.number, config };
  env.state.rollout = ref;
  try {
    await prepareRoutes(env, config);
  } catch (err) {
    delete env.state.rollout;
    const reason = (err as Error).message;
    const failed: Revision = { ...revision, outcome: 'failed', finishedAt: new Date().toISOString(), reason };
    await env.deps.store.update(failed);
    progress(`revision ${revision.number} failed: ${reason}`);
    return { revision: failed, outcome: 'failed', reason };
  }
  await env.deps.persist();
  const say: Progress = (line) => {
    env.deps.log(`${env.key}: ${line}`);
    progress(line);
  };
  say(`rolling out revision ${revision.number}: ${config.replicas} × ${config.image} behind http://127.0.0.1:${env.state.port}`);
  const result = await env.rollOutCancellable(ref, say);
  let outcome: DeployOutcome['outcome'] = 'healthy';
  let reason: string | undefined;
  if (result.ok) {
    env.state.current = ref;
    say(`revision ${revision.number} is healthy: ${config.replicas}/${config.replicas} replicas serve`);
  } else {
    reason = result.reason;
    say(`revision ${revision.number} failed: ${reason}`);
    const previous = env.state.current;
    if (previous) {
      // Auto-rollback (or, with autoRollback off, the supervisor would converge to the current
      // revision anyway: an environment has one current revision and restores only that one).
      say(`rolling back to revision ${previous.number} (${previous.config.image})`);
      const back = await rollOut(env, previous, { signal: new AbortController().signal, progress: say });
      if (back.ok) {
        outcome = 'rolled-back';
        say(`rolled back: revision ${previous.number} serves again`);
      } else {
        outcome = 'failed';
        reason = `${reason}\nthe rollback to revision ${previous.number} failed too: ${back.reason}`;
      }
    } else {
      outcome = 'failed';
      for (const r of [...env.replicas]) if (r.revision === revision.number) await env.retire(r);
    }
  }
  delete env.state.rollout;
  await env.deps.persist();
  const finished: Revision = {
    ...revision,
    outcome: outcome === 'healthy' ? 'healthy' : outcome,
    finishedAt: new Date().toISOString(),
    ...(reason !== undefined ? { reason } : {}),
  };
  await env.deps.store.update(finished);
  await env.record(revision.trigger.kind === 'rollback' ? 'rollback' : 'rollout', `revision ${revision.number}: ${outcome}${reason ? `: ${reason.split('\n')[0]}` : ''}`);
  return { revision: finished, outcome, ...(reason !== undefined ? { reason } : {}) };
}

/**
 * Before a rollout: the network and mesh proxy exist, and the edge serves the environment's port
 * (moved when the deploy block names another) and host names.
 */
async function prepareRoutes(env: Environment, config: RolloutConfig): Promise<void> {
  await env.routes.prepare(config.port);
  const old = env.state.port;
  if (config.publish !== undefined && config.publish !== old) env.state.port = config.publish;
  try {
    await env.deps.configureEdge();
  } catch (err) {
    env.state.port = old;
    throw new DeployError('ROLLOUT_INVALID', `${env.key}: the edge could not serve port ${config.publish ?? old}: ${(err as Error).message}`);
  }
  if (old !== 0 && old !== env.state.port) env.deps.log(`${env.key}: moved from port ${old} to ${env.state.port}`);
}

/** Revision.config is typed `DeploySpec & { image: string }`; what it holds is the rendered block. */
export function revisionConfig(config: RolloutConfig): Revision['config'] {
  return { ...config, target: 'docker' } as unknown as Revision['config'];
}

export function rolloutConfig(revision: Revision): RolloutConfig {
  const { target: _target, kubernetes: _k, ...rest } = revision.config as unknown as RolloutConfig & { target?: string; kubernetes?: unknown };
  return { ...rest, image: revision.image };
}
