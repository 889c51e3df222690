// Live data: Server-Sent Events where the server streams (the browser's EventSource resumes with
// Last-Event-ID by itself after a dropped connection), and a steady refresh elsewhere.
import { useEffect, useRef, useState } from 'preact/hooks';

/** Runs `load` now and every `intervalMs` while the page is visible; the latest value and error. */
export function usePolled<T>(load: () => Promise<T>, deps: unknown[], intervalMs = 2000): { value: T | undefined; error: unknown; reload: () => void } {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // read at each turn: a live page changes it without starting over
  const intervalRef = useRef(intervalMs);
  intervalRef.current = intervalMs;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const next = await loadRef.current();
        if (!stopped) {
          setValue(next);
          setError(undefined);
        }
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (!stopped && intervalRef.current > 0) timer = setTimeout(() => void (document.hidden ? (timer = setTimeout(run, intervalRef.current)) : run()), intervalRef.current);
    };
    void run();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}

export type ChangeKind = 'run' | 'environment' | 'registry';
/** The data of a change event: a run's id ("*": several), an app and environment, or a repository. */
export interface Change {
  id?: string;
  app?: string;
  environment?: string;
  repository?: string;
}
type Follower = (change: Change) => void;

/** The tab's one stream of the server's changes (GET /api/events), open while a page follows it. */
const followers = new Map<ChangeKind, Set<Follower>>();
let changes: EventSource | undefined;
let streaming = false;
export type StreamState = 'off' | 'live' | 'reconnecting';
const stateWatchers = new Set<(state: StreamState) => void>();
function setStreaming(state: StreamState): void {
  streaming = state === 'live';
  stateWatchers.forEach((w) => w(state));
}

/** Whether this tab's pages hear of changes as they happen: for the indicator in the header. */
export function useStreamState(): StreamState {
  const [state, setState] = useState<StreamState>(changes ? (streaming ? 'live' : 'reconnecting') : 'off');
  useEffect(() => {
    stateWatchers.add(setState);
    return () => void stateWatchers.delete(setState);
  }, []);
  return state;
}

function follow(kinds: ChangeKind[], follower: Follower): () => void {
  for (const kind of kinds) {
    let set = followers.get(kind);
    if (!set) followers.set(kind, (set = new Set()));
    set.add(follower);
  }
  if (!changes) {
    changes = new EventSource('/api/events');
    changes.onopen = () => setStreaming('live');
    // EventSource reconnects by itself; until then pages poll as before
    changes.onerror = () => setStreaming('reconnecting');
    for (const kind of ['run', 'environment', 'registry'] as const) {
      changes.addEventListener(kind, (event) => {
        let change: Change = {};
        try {
          change = JSON.parse((event as MessageEvent<string>).data) as Change;
        } catch {
          // a change we cannot read is still a change
        }
        followers.get(kind)?.forEach((f) => f(change));
      });
    }
  }
  return () => {
    for (const kind of kinds) followers.get(kind)?.delete(follower);
    if ([...followers.values()].every((set) => set.size === 0)) {
      changes?.close();
      changes = undefined;
      setStreaming('off');
    }
  };
}

/** How often a live page reads again while the change stream is open: a change made by another replica is not missed for long. */
const SAFETY_MS = 15_000;
/** A page reads again at most this often, however fast its things change. */
const MIN_GAP_MS = 1000;

/**
 * `load` now, again whenever the server says a thing of `kinds` changed that `matches` (at most
 * once a second), and every `fallbackMs` while the change stream is down.
 */
export function useLive<T>(
  load: () => Promise<T>,
  deps: unknown[],
  kinds: ChangeKind[],
  options: { fallbackMs?: number; matches?: (change: Change) => boolean } = {},
): { value: T | undefined; error: unknown; reload: () => void } {
  const fallbackMs = options.fallbackMs ?? 3000;
  const [every, setEvery] = useState(fallbackMs);
  const polled = usePolled(load, deps, every);
  const reloadRef = useRef(polled.reload);
  reloadRef.current = polled.reload;
  const matchesRef = useRef(options.matches);
  matchesRef.current = options.matches;
  useEffect(() => {
    let lastAt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = (change: Change): void => {
      if (matchesRef.current && !matchesRef.current(change)) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        lastAt = Date.now();
        reloadRef.current();
      }, Math.max(0, lastAt + MIN_GAP_MS - Date.now()));
    };
    const stop = follow(kinds, changed);
    const watch = window.setInterval(() => setEvery(streaming ? SAFETY_MS : fallbackMs), 1000);
    return () => {
      stop();
      window.clearInterval(watch);
      if (timer) clearTimeout(timer);
    };
  }, [kinds.join(','), fallbackMs]);
  return polled;
}

/** Draws the page again every `ms` while `active`, so that the durations of what still runs go on. */
export function useClock(active: boolean, ms = 1000): void {
  const [, setNow] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [active, ms]);
}
