// Pull-request previews: the environments a pull request's runs deployed to live as long as the
// pull request does. Closing or merging it takes them down (replicas, proxy or Deployment and
// Service); so does a week without a deploy, for pull requests whose close the server never heard
// of. Their revision history stays, so the record of what ran where is kept.
import type { TargetFactory } from '../deploy/index.js';
import type { Preview, Store } from '../store/types.js';

/** A preview not deployed to for this long is taken down, unless its deploy block's ttl says otherwise (`slipway server --preview-ttl`). */
export const DEFAULT_PREVIEW_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export interface PreviewOptions {
  store: Store;
  targets: TargetFactory;
  log: (message: string) => void;
  ttlMs?: number;
  now?: () => number;
  /** told of each environment taken down (the web UI's live pages) */
  onRemoved?: (preview: Preview) => void;
}

function formatHours(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 1 ? `${Math.round(hours)} h` : `${Math.round(ms / 60_000)} min`;
}

export class Previews {
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(private readonly options: PreviewOptions) {}

  /** The previews of a pull request that closed (or merged): each one's environment goes. */
  async closePullRequest(projectId: string, pullRequest: number, why: string): Promise<Preview[]> {
    return this.takeDown(await this.options.store.listPreviews({ projectId, pullRequest }), why);
  }

  /** Previews whose last deploy is older than the time to live; returns those taken down. */
  async sweep(): Promise<Preview[]> {
    if (this.sweeping) return [];
    this.sweeping = true;
    try {
      const now = (this.options.now ?? Date.now)();
      const ttlOf = (preview: Preview): number => preview.ttlMs ?? this.options.ttlMs ?? DEFAULT_PREVIEW_TTL_MS;
      // none lives shorter than the shortest ttl a deploy block may set (1 minute)
      const candidates = await this.options.store.listPreviews({ deployedBeforeMs: now - 60_000 });
      const stale = candidates.filter((preview) => preview.lastDeployAtMs + ttlOf(preview) < now);
      const removed: Preview[] = [];
      for (const preview of stale) removed.push(...(await this.takeDown([preview], `no deploy for ${formatHours(ttlOf(preview))} (its time to live)`)));
      return removed;
    } finally {
      this.sweeping = false;
    }
  }

  start(): void {
    const sweep = (): void => void this.sweep().catch((err: unknown) => this.options.log(`previews: sweep failed: ${(err as Error).message}`));
    sweep();
    this.timer = setInterval(sweep, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Removes each preview's environment; one that fails is logged and the others still go. */
  private async takeDown(previews: Preview[], why: string): Promise<Preview[]> {
    const removed: Preview[] = [];
    for (const preview of previews) {
      const where = `${preview.app}/${preview.environment}`;
      try {
        const target = await this.options.targets(preview.target);
        if (!(await target.remove(preview.app, preview.environment))) continue;
        removed.push(preview);
        this.options.log(`preview ${where} of pull request #${preview.pullRequest} removed: ${why}`);
        await this.options.store.appendAudit({ actor: 'slipway', action: 'preview.remove', subject: where, details: { pullRequest: preview.pullRequest, why } });
        this.options.onRemoved?.(preview);
      } catch (err) {
        this.options.log(`preview ${where} of pull request #${preview.pullRequest} could not be removed: ${(err as Error).message}`);
      }
    }
    return removed;
  }
}
