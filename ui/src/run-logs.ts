// A run's log lines, live: one Server-Sent Events stream from the first line to the run's end.
// The browser reconnects by itself with Last-Event-ID, so a dropped connection resumes after the
// last line it had: no gap, and a line seen twice (by seq) is kept once. Lines are handed to the
// page at most once per frame, however fast they come.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LogLine } from '../../src/api/index.js';

export interface RunLogs {
  lines: LogLine[];
  /** the stream is over: the run ended */
  ended: boolean;
}

export function useRunLogs(runId: string): RunLogs {
  const [state, setState] = useState<RunLogs>({ lines: [], ended: false });
  const buffer = useRef<LogLine[]>([]);
  useEffect(() => {
    const all: LogLine[] = [];
    let lastSeq = 0;
    let frame = 0;
    let ended = false;
    const flush = (): void => {
      frame = 0;
      if (buffer.current.length) {
        for (const line of buffer.current) all.push(line);
        buffer.current = [];
      }
      // a new array: the page sees a change; the lines themselves are shared
      setState({ lines: all.slice(), ended });
    };
    const schedule = (): void => {
      if (!frame) frame = requestAnimationFrame(flush);
    };
    const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/logs`);
    source.addEventListener('log', (event) => {
      const line = JSON.parse((event as MessageEvent<string>).data) as LogLine;
      if (line.seq <= lastSeq) return;
      lastSeq = line.seq;
      buffer.current.push(line);
      schedule();
    });
    source.addEventListener('end', () => {
      ended = true;
      source.close();
      schedule();
    });
    return () => {
      source.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [runId]);
  return state;
}
