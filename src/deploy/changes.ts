// "Revisions mean changes": when a deploy is the revision an environment already serves (a no-op),
// and which revision a rollback without --to restores. Both targets decide with these, on the
// image's digest (not its tag, which may move) and the deploy block it was rolled out with.
import { isDeepStrictEqual } from 'node:util';
import { DeployError, type DeployOutcome, type Revision } from './types.js';

/** What equality looks at: the image reference, its digest where known, and the config. */
export type Release = Pick<Revision, 'image' | 'digest' | 'config'>;

/** `name@sha256:…` → `sha256:…`: the digest a reference pins, if it pins one. */
export function pinnedDigest(image: string): string | undefined {
  const at = image.lastIndexOf('@');
  return at > 0 && /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-f0-9]{32,}$/.test(image.slice(at + 1)) ? image.slice(at + 1) : undefined;
}

/**
 * The config apart from the image reference and the bookkeeping that does not change what runs:
 * `hello:v2` and `hello@sha256:…` of the same image are the same release when the digests agree.
 */
function comparableConfig(config: Revision['config']): Record<string, unknown> {
  const { image: _image, environment: _environment, ...rest } = config as unknown as Record<string, unknown>;
  // JSON round trip: a revision read from disk has no `undefined` fields, one built in memory may
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/**
 * Whether two revisions run the same thing. With both digests known they decide; with one
 * unknown (a revision from before digests were recorded, or a target that sees only the
 * reference) `byReference` says whether equal references count as the same image.
 */
export function isSameRelease(a: Release, b: Release, options: { byReference: boolean }): boolean {
  if (!isDeepStrictEqual(comparableConfig(a.config), comparableConfig(b.config))) return false;
  const da = a.digest ?? pinnedDigest(a.image);
  const db = b.digest ?? pinnedDigest(b.image);
  if (da !== undefined && db !== undefined) return da === db;
  return options.byReference && a.image === b.image;
}

/** The no-op answer: nothing was rolled out and no revision was added; `current` keeps serving. */
export function unchangedOutcome(current: Revision): DeployOutcome {
  return { revision: current, outcome: 'unchanged' };
}

/** What the engine, the CLI and the server say of a no-op deploy. */
export function describeUnchanged(revision: Pick<Revision, 'number'>): string {
  return `revision ${revision.number} already runs this image and config; nothing to do (use --force to restart its replicas as a new revision)`;
}

/**
 * The revision `slipway rollback` restores: `to`, or else the newest healthy revision before the
 * current one that differs from it, as `kubectl rollout undo` skips a template equal to the
 * current one. A forced redeploy of the same image is not a step back.
 */
export function rollbackTarget(history: Revision[], current: Revision | undefined, where: string, to?: number): Revision {
  if (to !== undefined) {
    const named = history.find((r) => r.number === to);
    if (!named) throw new DeployError('ROLLOUT_NO_REVISION', `${where} has no revision ${to}`);
    if (named.outcome !== 'healthy') throw new DeployError('ROLLOUT_NO_REVISION', `revision ${named.number} of ${where} never became healthy (${named.outcome}); only a healthy revision can be restored`);
    if (named.number === current?.number) throw new DeployError('ROLLOUT_INVALID', `revision ${named.number} is already the current revision of ${where}`);
    return named;
  }
  if (!current) throw new DeployError('ROLLOUT_NO_REVISION', `${where} serves no revision, so there is nothing to roll back from`);
  const newestFirst = history.filter((r) => r.outcome === 'healthy' && r.number < current.number).reverse();
  const found = newestFirst.find((r) => !isSameRelease(r, current, { byReference: true }));
  if (!found) {
    const n = newestFirst.length;
    const twins = n > 0 ? ` (${n === 1 ? 'revision' : 'revisions'} ${newestFirst.map((r) => r.number).join(', ')} ${n === 1 ? 'runs' : 'run'} the same image and config)` : '';
    throw new DeployError('ROLLOUT_NO_REVISION', `${where} has no healthy revision before the current one (${current.number}) that differs from it${twins}; name one with --to`);
  }
  return found;
}
