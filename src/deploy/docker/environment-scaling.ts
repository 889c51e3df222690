// Scaling an environment's current revision to another replica count — by `slipway scale` or the
// autoscaler (scaling.ts) — without a new revision: the count is persisted, the rolling update
// starts or retires replicas, and the change is recorded as a scale event.
import { DeployError } from '../types.js';
import { scaleProblem } from '../autoscale.js';
import { scaleMessage, type ScaleEvent, type ScaleOutcome } from '../scale-events.js';
import { rollOut } from './rollout.js';
import type { RevisionRef } from './state.js';
import type { Environment, Progress } from './environment.js';

/**
 * Sets the current revision's replica count — persisted, so self-healing and restarts keep it —
 * and waits until that many serve; surplus replicas leave through the proxy's drain. After any
 * rollout under way. When the new count does not serve, the previous one is restored.
 */
export function scale(env: Environment, replicas: number, by: string, progress: Progress, cause?: string): Promise<ScaleOutcome> {
  return env.exclusive(async () => {
    const current = env.state.current;
    if (env.isDestroyed || !current) throw new DeployError('ROLLOUT_NO_REVISION', `${env.key} serves no revision to scale${env.isDestroyed ? ' (it was removed)' : ''}; deploy it first`);
    const problem = scaleProblem(replicas, current.config.autoscale);
    if (problem) throw new DeployError('ROLLOUT_INVALID', `${env.key}: ${problem}`, [{ field: 'replicas', message: problem.replace(/^replicas: /, '') }]);
    const from = current.config.replicas;
    const event: ScaleEvent = {
      app: env.state.app,
      environment: env.state.environment,
      target: 'docker',
      revision: current.number,
      from,
      to: replicas,
      by,
      ...(cause !== undefined ? { cause } : {}),
      at: new Date().toISOString(),
      outcome: 'healthy',
    };
    const say: Progress = (line) => {
      env.deps.log(`${env.key}: ${line}`);
      progress(line);
    };
    if (from === replicas) {
      say(`revision ${current.number} already runs ${replicas} replica${replicas === 1 ? '' : 's'}; nothing to change`);
      return { event, outcome: 'healthy', unchanged: true };
    }
    const ref: RevisionRef = { number: current.number, config: { ...current.config, replicas } };
    env.state.current = ref;
    await env.deps.persist();
    say(`scaling revision ${current.number} from ${from} to ${replicas} replica${replicas === 1 ? '' : 's'}${cause ? ` (${cause})` : ''}`);
    // the replicas serving already are no news: only the ones that join or leave are told
    const serving = [...env.replicas].filter((r) => r.serving).map((r) => `replica ${r.name} is healthy and in the proxy`);
    const tell: Progress = (line) => {
      if (!serving.some((prefix) => line.startsWith(prefix))) say(line);
    };
    const result = await env.rollOutCancellable(ref, tell);
    let finished: ScaleEvent = { ...event, finishedAt: new Date().toISOString() };
    if (!result.ok) {
      say(`${replicas} replicas did not serve: ${result.reason}; back to ${from}`);
      env.state.current = { number: current.number, config: { ...ref.config, replicas: from } };
      await env.deps.persist();
      const back = await rollOut(env, env.state.current, { signal: new AbortController().signal, progress: say });
      if (!back.ok) say(`${from} replicas did not serve either: ${back.reason}`);
      finished = { ...finished, outcome: 'failed', reason: result.reason, finishedAt: new Date().toISOString() };
    } else {
      say(`${replicas}/${replicas} replicas of revision ${current.number} serve`);
    }
    await env.record('scale', scaleMessage(finished), { scale: finished });
    return { event: finished, outcome: finished.outcome, ...(finished.reason !== undefined ? { reason: finished.reason } : {}) };
  });
}
