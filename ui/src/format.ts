// How times, durations and states read on the pages.

export function duration(ms: number | undefined): string {
  if (ms === undefined || ms < 0 || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function ago(atMs: number | undefined, now = Date.now()): string {
  if (atMs === undefined) return '–';
  return `${duration(now - atMs)} ago`;
}

export function when(atMs: number | undefined): string {
  return atMs === undefined ? '–' : new Date(atMs).toLocaleString();
}

export const shortSha = (sha: string): string => sha.slice(0, 7);

/** A run's or job's elapsed time: to its end, or to now while it goes on. */
export function elapsed(start: number | undefined, end: number | undefined, now = Date.now()): string {
  return start === undefined ? '–' : duration((end ?? now) - start);
}
