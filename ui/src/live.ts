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
      if (!stopped && intervalMs > 0) timer = setTimeout(() => void (document.hidden ? (timer = setTimeout(run, intervalMs)) : run()), intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}
