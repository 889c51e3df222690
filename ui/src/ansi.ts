// Terminal colours in log lines: SGR escape sequences become styled segments; every other escape
// sequence is dropped (a log never moves a cursor here). The state a line starts with comes from
// the lines before it, so colour carries across lines as it would in a terminal.

export interface AnsiState {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface Segment {
  text: string;
  state: AnsiState;
}

// CSI sequences (ESC [ … final byte), OSC sequences (ESC ] … BEL or ESC \), and two-byte escapes
const ESCAPES = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;
const HAS_ESCAPE = /\x1b/;

const PALETTE_16 = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

function color256(n: number): string {
  if (n < 8) return `c-${PALETTE_16[n]}`;
  if (n < 16) return `c-bright-${PALETTE_16[n - 8]}`;
  if (n < 232) {
    const v = n - 16;
    const level = (x: number): number => (x === 0 ? 0 : 55 + x * 40);
    return `rgb(${level(Math.floor(v / 36))},${level(Math.floor(v / 6) % 6)},${level(v % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey},${grey},${grey})`;
}

/** Applies one SGR parameter list to a state (a copy). */
function applySgr(state: AnsiState, params: string): AnsiState {
  const next = { ...state };
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) {
      for (const key of Object.keys(next)) delete next[key as keyof AnsiState];
    } else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 22) delete next.bold, delete next.dim;
    else if (c === 23) delete next.italic;
    else if (c === 24) delete next.underline;
    else if (c >= 30 && c <= 37) next.fg = `c-${PALETTE_16[c - 30]}`;
    else if (c >= 90 && c <= 97) next.fg = `c-bright-${PALETTE_16[c - 90]}`;
    else if (c === 39) delete next.fg;
    else if (c >= 40 && c <= 47) next.bg = `c-${PALETTE_16[c - 40]}`;
    else if (c >= 100 && c <= 107) next.bg = `c-bright-${PALETTE_16[c - 100]}`;
    else if (c === 49) delete next.bg;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      const value = color256(Math.max(0, Math.min(255, codes[i + 2] ?? 0)));
      if (c === 38) next.fg = value;
      else next.bg = value;
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
      const [r, g, b] = [codes[i + 2] ?? 0, codes[i + 3] ?? 0, codes[i + 4] ?? 0].map((v) => Math.max(0, Math.min(255, v)));
      const value = `rgb(${r},${g},${b})`;
      if (c === 38) next.fg = value;
      else next.bg = value;
      i += 4;
    }
  }
  return next;
}

/** The line's text in styled segments, starting from `state`; and the state the next line starts with. */
export function parseLine(line: string, state: AnsiState): { segments: Segment[]; end: AnsiState } {
  if (!HAS_ESCAPE.test(line)) return { segments: line ? [{ text: line, state }] : [], end: state };
  const segments: Segment[] = [];
  let current = state;
  let last = 0;
  for (const match of line.matchAll(ESCAPES)) {
    const at = match.index ?? 0;
    if (at > last) segments.push({ text: line.slice(last, at), state: current });
    if (match[2] === 'm') current = applySgr(current, match[1] ?? '');
    last = at + match[0].length;
  }
  if (last < line.length) segments.push({ text: line.slice(last), state: current });
  return { segments, end: current };
}

/** The state after a line, without building its segments (for carrying state over many lines). */
export function stateAfter(line: string, state: AnsiState): AnsiState {
  if (!HAS_ESCAPE.test(line)) return state;
  let current = state;
  for (const match of line.matchAll(ESCAPES)) if (match[2] === 'm') current = applySgr(current, match[1] ?? '');
  return current;
}

/** The line as plain text: what search matches and downloads keep. */
export function plain(line: string): string {
  return HAS_ESCAPE.test(line) ? line.replace(ESCAPES, '') : line;
}

const CHECKPOINT = 512;

/**
 * The colour state each line starts with, for a log that only grows: states are kept every
 * CHECKPOINT lines, so the state of any line costs at most CHECKPOINT lines of scanning.
 */
export class AnsiStates {
  private checkpoints: AnsiState[] = [{}];

  /** Lines changed from `index` on (a new log): forget what was computed after it. */
  reset(): void {
    this.checkpoints = [{}];
  }

  stateAt(lines: ReadonlyArray<{ line: string }>, index: number): AnsiState {
    const slot = Math.floor(index / CHECKPOINT);
    while (this.checkpoints.length <= slot) {
      const k = this.checkpoints.length - 1;
      let state = this.checkpoints[k]!;
      for (let i = k * CHECKPOINT; i < (k + 1) * CHECKPOINT && i < lines.length; i++) state = stateAfter(lines[i]!.line, state);
      this.checkpoints.push(state);
    }
    let state = this.checkpoints[slot]!;
    for (let i = slot * CHECKPOINT; i < index; i++) state = stateAfter(lines[i]!.line, state);
    return state;
  }
}
