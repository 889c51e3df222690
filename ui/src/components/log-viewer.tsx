// The log viewer: only the rows on screen are in the DOM (100,000+ lines stay smooth), colours are
// converted only for those rows (with the state carried from the lines before), search covers every
// line, `#L12` / `#L12-L20` mark lines, and follow mode keeps the newest line in view until the
// reader scrolls up. Text is set as text: a log that prints HTML shows HTML, it never runs.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { AnsiStates, parseLine, plain, type AnsiState } from '../ansi.js';

export interface ViewerLine {
  line: string;
  atMs: number;
  stream: string;
}

export interface LogViewerProps {
  /** may grow in place: `version` says when */
  lines: readonly ViewerLine[];
  version: number;
  /** the log goes on (a running job): follow mode is offered */
  live: boolean;
  /** file name of the download */
  name: string;
  /** open scrolled to the end (a failed job: its failing step's last lines) */
  startAtEnd?: boolean;
}

const ROW_PX = 20;
const OVERSCAN = 30;

function styleOf(state: AnsiState): { class: string; style?: JSX.CSSProperties } {
  const classes: string[] = [];
  const style: JSX.CSSProperties = {};
  if (state.fg?.startsWith('c-')) classes.push(`fg-${state.fg.slice(2)}`);
  else if (state.fg) style.color = state.fg;
  if (state.bg?.startsWith('c-')) classes.push(`bg-${state.bg.slice(2)}`);
  else if (state.bg) style.backgroundColor = state.bg;
  if (state.bold) classes.push('b');
  if (state.dim) classes.push('d');
  if (state.italic) classes.push('i');
  if (state.underline) classes.push('u');
  return { class: classes.join(' '), ...(Object.keys(style).length ? { style } : {}) };
}

/** `#L12` or `#L12-L20` → the 0-based range, or undefined. */
export function rangeOfHash(hash: string): [number, number] | undefined {
  const m = /^#L(\d+)(?:-L(\d+))?$/.exec(hash);
  if (!m) return undefined;
  const a = Number(m[1]) - 1;
  const b = m[2] ? Number(m[2]) - 1 : a;
  return a >= 0 && b >= 0 ? [Math.min(a, b), Math.max(a, b)] : undefined;
}

export function LogViewer({ lines, version, live, name, startAtEnd }: LogViewerProps): JSX.Element {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 600 });
  // following: the newest line stays in view (a live log; and a failed job's log while it loads)
  const [following, setFollowing] = useState(() => (live || Boolean(startAtEnd)) && !rangeOfHash(location.hash));
  const [showTimes, setShowTimes] = useState(false);
  const [query, setQuery] = useState('');
  const [matchIndex, setMatchIndex] = useState(0);
  const [marked, setMarked] = useState<[number, number] | undefined>(() => rangeOfHash(location.hash));
  const states = useMemo(() => new AnsiStates(), [lines]);
  const plainCache = useRef<string[]>([]);
  const count = lines.length;

  const matches = useMemo(() => {
    if (query.length === 0) return [] as number[];
    const needle = query.toLowerCase();
    const cache = plainCache.current;
    const found: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const text = (cache[i] ??= plain(lines[i]!.line).toLowerCase());
      if (text.includes(needle)) found.push(i);
    }
    return found;
  }, [query, lines, version]);

  const scrollToLine = (index: number): void => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = Math.max(0, index * ROW_PX - el.clientHeight / 3);
    setViewport({ top: el.scrollTop, height: el.clientHeight });
  };

  // the first screen: the marked line, the end (a failed job), or the top
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    if (marked) scrollToLine(marked[0]);
  }, []);

  // new lines: keep the newest in view while following
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && following) {
      el.scrollTop = el.scrollHeight;
      setViewport({ top: el.scrollTop, height: el.clientHeight });
    }
  }, [count, version, following]);

  useEffect(() => {
    const onHash = (): void => {
      const range = rangeOfHash(location.hash);
      setMarked(range);
      if (range) scrollToLine(range[0]);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const onScroll = (): void => {
    const el = scroller.current;
    if (!el) return;
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX * 2;
    // scrolling up pauses following; coming back to the end resumes it
    setFollowing(atBottom);
  };

  const goToMatch = (next: number): void => {
    if (matches.length === 0) return;
    const i = ((next % matches.length) + matches.length) % matches.length;
    setMatchIndex(i);
    scrollToLine(matches[i]!);
  };

  const onLineNumber = (event: MouseEvent, index: number): void => {
    event.preventDefault();
    const range: [number, number] = event.shiftKey && marked ? [Math.min(marked[0], index), Math.max(marked[0], index)] : [index, index];
    setMarked(range);
    history.replaceState(null, '', `${location.pathname}${location.search}#L${range[0] + 1}${range[1] !== range[0] ? `-L${range[1] + 1}` : ''}`);
  };

  const download = (): void => {
    const blob = new Blob([lines.map((l) => plain(l.line)).join('\n') + '\n'], { type: 'text/plain' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  // the scroller's own position when it is there: the state only makes the render happen, and may
  // lag a programmatic scroll by a frame
  const top = scroller.current?.scrollTop ?? viewport.top;
  const height = scroller.current?.clientHeight || viewport.height;
  const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
  const last = Math.min(lines.length, Math.ceil((top + height) / ROW_PX) + OVERSCAN);
  const currentMatch = matches[matchIndex];
  const rows: JSX.Element[] = [];
  let state = first < lines.length ? states.stateAt(lines, first) : {};
  for (let i = first; i < last; i++) {
    const entry = lines[i]!;
    const { segments, end } = parseLine(entry.line, state);
    state = end;
    const isMarked = marked !== undefined && i >= marked[0] && i <= marked[1];
    rows.push(
      <div
        key={i}
        class={`row${isMarked ? ' marked' : ''}${i === currentMatch ? ' match' : matches.length && query && plainCache.current[i]?.includes(query.toLowerCase()) ? ' hit' : ''}${entry.stream === 'system' ? ' system' : entry.stream === 'stderr' ? ' stderr' : ''}`}
        style={{ top: `${i * ROW_PX}px` }}
        data-line={i + 1}
      >
        <a class="ln" href={`#L${i + 1}`} onClick={(e) => onLineNumber(e as unknown as MouseEvent, i)} aria-label={`line ${i + 1}`} tabIndex={-1}>
          {i + 1}
        </a>
        {showTimes ? <span class="ts">{new Date(entry.atMs).toISOString().slice(11, 23)}</span> : null}
        <span class="tx">
          {segments.map((s, k) => {
            const look = styleOf(s.state);
            return look.class || look.style ? (
              <span key={k} class={look.class} style={look.style}>
                {s.text}
              </span>
            ) : (
              s.text
            );
          })}
        </span>
      </div>,
    );
  }

  return (
    <section class="log" aria-label="log">
      <div class="log-bar" role="toolbar" aria-label="log tools">
        <label class="search">
          <span class="sr-only">search the log</span>
          <input
            type="search"
            placeholder="Search the whole log"
            value={query}
            onInput={(e) => {
              setQuery((e.target as HTMLInputElement).value);
              setMatchIndex(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') goToMatch(matchIndex + (e.shiftKey ? -1 : 1));
            }}
          />
        </label>
        <span class="count" aria-live="polite">
          {query ? `${matches.length ? matchIndex + 1 : 0} / ${matches.length}` : `${lines.length} lines`}
        </span>
        <button type="button" onClick={() => goToMatch(matchIndex - 1)} disabled={!matches.length} aria-label="previous match">↑</button>
        <button type="button" onClick={() => goToMatch(matchIndex + 1)} disabled={!matches.length} aria-label="next match">↓</button>
        <button type="button" aria-pressed={showTimes} onClick={() => setShowTimes(!showTimes)}>Timestamps</button>
        {live ? (
          <button type="button" aria-pressed={following} onClick={() => setFollowing(!following)}>
            {following ? 'Following' : 'Follow'}
          </button>
        ) : null}
        <button type="button" onClick={download}>Download</button>
      </div>
      <div class="log-scroll" ref={scroller} onScroll={onScroll} tabIndex={0} aria-label="log lines">
        <div class="log-space" style={{ height: `${lines.length * ROW_PX}px` }}>
          {rows}
        </div>
      </div>
    </section>
  );
}
