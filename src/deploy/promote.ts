// Promotion: what one environment serves — its exact image reference and deploy config — rolled
// out to another environment as a new revision there. What may be promoted, and the deploy request
// a promotion makes, are decided here once for the server's API and the CLI.
import { makeTemplate, type DeploySpec } from '../spec/index.js';
import { checkName } from './revisions.js';
import type { TargetFactory } from './status.js';
import { DeployError, type EnvironmentStatus, type Revision } from './types.js';

export interface PromotionRequest {
  app: string;
  from: string;
  to: string;
  by: string;
}

export interface Promotion {
  /** the source environment's current revision: healthy, settled, every replica ready */
  source: Revision;
  /** the rollout to make in the destination: the source's config with the destination's bound fields */
  spec: DeploySpec;
  /** the source revision's image reference, as it is */
  image: string;
  trigger: Revision['trigger'];
  /** what was chosen for the fields bound to an environment, in words for the progress lines */
  notes: string[];
}

/** Checks the names, and that an environment is not promoted onto itself. */
export function checkPromotionNames(app: string, from: string, to: string): void {
  const fields: Array<{ field: string; message: string }> = [];
  for (const [field, kind, name] of [['app', 'app', app], ['from', 'environment', from], ['to', 'environment', to]] as const) {
    try {
      checkName(kind, name);
    } catch (err) {
      fields.push({ field, message: (err as Error).message });
    }
  }
  if (fields.length === 0 && from === to) fields.push({ field: 'to', message: `the environment to promote to must differ from the one promoted from ('${from}')` });
  if (fields.length > 0) throw new DeployError('ROLLOUT_INVALID', `invalid promotion: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, fields);
}

function refused(message: string): DeployError {
  return new DeployError('PROMOTE_SOURCE_UNHEALTHY', message);
}

function firstLine(reason: string | undefined): string {
  const line = (reason ?? '').split('\n')[0]?.trim() ?? '';
  return line ? `: ${line.slice(0, 300)}` : '';
}

async function statusOf(targets: TargetFactory, revision: Revision, app: string, environment: string): Promise<EnvironmentStatus | undefined> {
  const target = await targets(revision.target);
  return (await target.status(app, environment)).find((s) => s.app === app && s.environment === environment);
}

/**
 * What promoting `from` to `to` rolls out. Refused (PROMOTE_SOURCE_UNHEALTHY, with the reason)
 * unless the source serves a healthy revision that is also its newest (not one restored after a
 * failed or rolled-back rollout, nor one with a rollout under way) with every replica ready: a
 * promotion ships what was last tested there and passed.
 */
export async function planPromotion(targets: TargetFactory, request: PromotionRequest): Promise<Promotion> {
  const { app, from, to, by } = request;
  checkPromotionNames(app, from, to);
  // both targets keep their history in the same files; the docker target reads them without its agent
  const files = await targets('docker');
  const history = (a: string, environment: string): Promise<Revision[]> => files.history(a, environment);
  const newest = (await history(app, from)).at(-1);
  if (!newest) throw refused(`${app}/${from} has never been deployed: there is nothing to promote`);
  if (newest.outcome === 'in-progress') throw refused(`${app}/${from} is being rolled out (revision ${newest.number}); promote once it is healthy`);
  const status = await statusOf(targets, newest, app, from);
  const current = status?.current;
  if (!current) throw refused(`${app}/${from} serves no revision: its newest, revision ${newest.number}, ${newest.outcome}${firstLine(newest.reason)}`);
  if (current.outcome !== 'healthy') throw refused(`the current revision of ${app}/${from}, ${current.number}, is ${current.outcome}${firstLine(current.reason)}`);
  if (newest.number !== current.number) {
    throw refused(
      `the newest revision of ${app}/${from}, ${newest.number}, ${newest.outcome}${firstLine(newest.reason)}; ` +
        `${from} serves revision ${current.number} again, which is not what was last rolled out there. Deploy to or roll back ${from} first, then promote`,
    );
  }
  const { desired, ready } = status.replicas;
  if (desired === 0 || ready < desired) {
    throw refused(`only ${ready} of ${desired} replicas of ${app}/${from} (revision ${current.number}) are ready${status.message ? ` (${status.message})` : ''}; promote once they all are`);
  }
  const config = current.config;
  if (config.kubernetes?.manifests !== undefined) {
    throw new DeployError(
      'PROMOTE_UNSUPPORTED',
      `revision ${current.number} of ${app}/${from} was rolled out from the manifests in ${config.kubernetes.manifests} of a run's workspace, which a promotion does not have; deploy ${to} from a pipeline's deploy job with the same image (${current.image})`,
    );
  }

  // the fields bound to an environment come from the destination, never from the source
  const notes = [`promoting ${app}/${from} revision ${current.number} (${current.image}) to ${to}`];
  const destinationNewest = (await history(app, to)).at(-1);
  const destination = destinationNewest ? (await statusOf(targets, destinationNewest, app, to))?.current : undefined;
  let publish: number | undefined;
  let namespace: string | undefined;
  if (current.target === 'docker') {
    publish = destination?.target === 'docker' ? destination.config.publish : undefined;
    notes.push(
      publish !== undefined
        ? `${to} keeps its proxy port ${publish} (from its current revision ${destination?.number})`
        : destinationNewest
          ? `${to} keeps the proxy port it has`
          : `${to} gets a proxy port of its own (see slipway status)`,
    );
  } else {
    const own = destination?.target === 'kubernetes' ? destination.config.kubernetes?.namespace : undefined;
    namespace = own ?? config.kubernetes?.namespace ?? 'default';
    notes.push(own ? `${to} keeps its namespace ${own}` : `${to} has no current revision on Kubernetes: namespace ${namespace} as in ${from}`);
  }
  if (!/@sha256:[a-f0-9]{64}$/.test(current.image)) {
    notes.push(`note: ${current.image} is a tag, not a digest: ${to} gets the image the tag names on the target's engine now`);
  }

  const spec: DeploySpec = {
    environment: to,
    target: current.target,
    image: makeTemplate(current.image, { file: '<promote>', line: 0, col: 0 }),
    replicas: config.replicas,
    port: config.port,
    ...(publish !== undefined ? { publish } : {}),
    health: { ...config.health },
    strategy: { ...config.strategy },
    ...(config.autoscale ? { autoscale: { ...config.autoscale, cooldown: { ...config.autoscale.cooldown } } } : {}),
    ...(namespace !== undefined ? { kubernetes: { namespace } } : {}),
  };
  return {
    source: current,
    spec,
    image: current.image,
    trigger: { by, kind: 'promote', from: { environment: from, revision: current.number }, ...(current.trigger.commit ? { commit: current.trigger.commit } : {}) },
    notes,
  };
}
