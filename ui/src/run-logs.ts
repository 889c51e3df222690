// A run's log lines by job. What is already stored comes as JSON pages of 10,000 lines (a finished
// 100,000-line log is ten requests); a run still going on then continues as Server-Sent Events
// from the last line had. The browser reconnects the stream by itself with Last-Event-ID, so a
// dropped connection resumes after the last line it had: no gap, and a line seen twice (by seq) is
// kept once. Lines go to the page at most once per frame, however fast they come; the per-job
// arrays only grow, and `version` says when.
import { useEffect, useState } from 'preact/hooks';
import type { LogLine } from '../../src/api/index.js';
import { send } from './api.js';

export interface RunLogs {
  byJob: ReadonlyMap<string, LogLine[]>;
  /** the job of the first line: a run without jobs (an invalid file) logs under one of its own */
  firstJob?: string;
  /** bumps whenever lines were added */
  version: number;
  /** every line is in: the run ended, or its stored lines were read and it was already over */
  ended: boolean;
}

const PAGE = 10_000;

/** `finished` undefined: not known yet (nothing is read until it is). */
export function useRunLogs(runId: string, finished: boolean | undefined): RunLogs {
  const [state, setState] = useState<RunLogs>({ byJob: new Map(), version: 0, ended: false });
  useEffect(() => {
    if (finished === undefined) return undefined;
    const byJob = new Map<string, LogLine[]>();
    let firstJob: string | undefined;
    let lastSeq = 0;
    let version = 0;
    let ended = false;
    let frame = 0;
    let stopped = false;
    let source: EventSource | undefined;
    const publish = (): void => {
      frame = 0;
      if (!stopped) setState({ byJob, ...(firstJob !== undefined ? { firstJob } : {}), version: ++version, ended });
    };
    const schedule = (): void => {
      if (!frame) frame = requestAnimationFrame(publish);
    };
    const add = (line: LogLine): void => {
      if (line.seq <= lastSeq) return;
      lastSeq = line.seq;
      firstJob ??= line.job;
      let lines = byJob.get(line.job);
      if (!lines) byJob.set(line.job, (lines = []));
      lines.push(line);
    };
    void (async () => {
      try {
        for (;;) {
          const { lines } = (await send('GET', `/api/runs/${encodeURIComponent(runId)}/logs?after=${lastSeq}`)) as { lines: LogLine[] };
          if (stopped) return;
          lines.forEach(add);
          schedule();
          if (lines.length < PAGE) break;
        }
      } catch {
        // the stream below reads from where the pages stopped
      }
      if (stopped) return;
      if (finished) {
        ended = true;
        schedule();
        return;
      }
      source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/logs?after=${lastSeq}`);
      source.addEventListener('log', (event) => {
        add(JSON.parse((event as MessageEvent<string>).data) as LogLine);
        schedule();
      });
      source.addEventListener('end', () => {
        ended = true;
        source?.close();
        schedule();
      });
    })();
    return () => {
      stopped = true;
      source?.close();
      if (frame) cancelAnimationFrame(frame);
    };
    // a run seen finished when the page opened reads its pages only
  }, [runId, finished]);
  return state;
}
