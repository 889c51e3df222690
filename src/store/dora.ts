// DORA's four keys from the revision history of one window. Pure: the store selects the rows, this
// does the arithmetic, so the definitions are tested once for both databases.
import type { DoraMetrics, RevisionOutcome } from './types.js';

export interface DoraRevision {
  app: string;
  environment: string;
  outcome: RevisionOutcome;
  createdAtMs: number;
  finishedAtMs?: number;
  /** the deployed commit's time (from the revision or its run) */
  commitTimestampMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const isFailed = (outcome: RevisionOutcome): boolean => outcome === 'failed' || outcome === 'rolled-back';

/**
 * revisions: every finished revision of the window's environment whose finish falls in the
 * window, plus (for time to restore) later ones. Definitions:
 * - deployment frequency: healthy deploys finished in the window per day of the window;
 * - lead time: median of commit time → healthy finish;
 * - change failure rate: failed or rolled back / all finished deploys in the window;
 * - time to restore: median of a failed deploy's finish → the next healthy finish of the same
 *   app and environment (failures never restored in the data are left out).
 */
export function computeDora(revisions: DoraRevision[], sinceMs: number, untilMs: number): DoraMetrics {
  const windowDays = Math.max((untilMs - sinceMs) / DAY_MS, 1 / 24);
  const finished = revisions
    .filter((r): r is DoraRevision & { finishedAtMs: number } => r.outcome !== 'in-progress' && r.finishedAtMs !== undefined)
    .sort((a, b) => a.finishedAtMs - b.finishedAtMs);
  const inWindow = finished.filter((r) => r.finishedAtMs >= sinceMs && r.finishedAtMs < untilMs);
  const healthy = inWindow.filter((r) => r.outcome === 'healthy');
  const failed = inWindow.filter((r) => isFailed(r.outcome));

  const leadTimes = healthy
    .filter((r) => r.commitTimestampMs !== undefined)
    .map((r) => r.finishedAtMs - r.commitTimestampMs!);

  const restores: number[] = [];
  for (const failure of failed) {
    const next = finished.find(
      (r) =>
        r.outcome === 'healthy' &&
        r.app === failure.app &&
        r.environment === failure.environment &&
        r.finishedAtMs >= failure.finishedAtMs &&
        r !== failure,
    );
    if (next) restores.push(next.finishedAtMs - failure.finishedAtMs);
  }

  const metrics: DoraMetrics = {
    windowDays,
    deployments: healthy.length,
    deploymentFrequencyPerDay: healthy.length / windowDays,
  };
  const lead = median(leadTimes);
  if (lead !== undefined) metrics.leadTimeMedianMs = lead;
  if (inWindow.length > 0) metrics.changeFailureRate = failed.length / inWindow.length;
  const restore = median(restores);
  if (restore !== undefined) metrics.timeToRestoreMedianMs = restore;
  return metrics;
}
