// Renders RunEvents for a person: a live tree of jobs and steps on a terminal (logs scroll above
// it), plain timestamped lines prefixed by the job otherwise (CI logs, pipes, files).
import type { JobPlanView, JobStatus, RunEvent, RunResult } from '../engine/index.js';
import { formatMs } from '../engine/index.js';

type Out = NodeJS.WritableStream & { columns?: number };

export interface Reporter {
  /** returns a promise while the output is full, so that logs are held back instead of buffered */
  onEvent(event: RunEvent): void | Promise<void>;
  /** prints the summary; stops any live redraw */
  finish(result: RunResult): void;
  note(message: string): void;
  /** stops drawing for a while (a question on the terminal), and starts again */
  hold?(held: boolean): void;
}

export interface Palette {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function palette(enabled: boolean): Palette {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}

const ICONS: Record<JobStatus, string> = {
  pending: '◌',
  waiting: '⏸',
  running: '●',
  success: '✔',
  failure: '✘',
  skipped: '⊘',
  cancelled: '■',
};

function colorFor(p: Palette, status: JobStatus): (s: string) => string {
  switch (status) {
    case 'success':
      return p.green;
    case 'failure':
      return p.red;
    case 'running':
      return p.cyan;
    case 'skipped':
    case 'cancelled':
    case 'waiting':
      return p.yellow;
    default:
      return p.dim;
  }
}

function timestamp(at: number): string {
  return new Date(at).toISOString().slice(11, 23);
}

function summaryLines(result: RunResult, p: Palette): string[] {
  const width = Math.max(...result.jobs.map((j) => j.name.length), 3);
  const lines = ['', p.bold(`Run ${result.runId} ${result.status} in ${formatMs(result.durationMs)}`)];
  for (const job of result.jobs) {
    const color = colorFor(p, job.status);
    const time = job.status === 'success' || job.status === 'failure' ? formatMs(job.durationMs).padStart(6) : '      ';
    const attempts = job.attempts > 1 ? ` (${job.attempts} attempts)` : '';
    lines.push(`  ${color(ICONS[job.status])} ${job.name.padEnd(width)}  ${color(job.status.padEnd(9))} ${time}${attempts}${job.reason ? `  ${p.dim(job.reason)}` : ''}`);
  }
  return lines;
}

/** One line per event: what CI systems and pipes want. */
export class PlainReporter implements Reporter {
  constructor(
    private readonly out: Out,
    private readonly p: Palette,
  ) {}

  private line(at: number, prefix: string, text: string): void {
    this.out.write(`${this.p.dim(timestamp(at))} ${this.p.bold(`[${prefix}]`)} ${text}\n`);
  }

  private drain?: Promise<void>;

  /** One shared wait per full buffer, however many lines ask. */
  private drained(): Promise<void> | undefined {
    if (!(this.out as { writableNeedDrain?: boolean }).writableNeedDrain) return undefined;
    this.drain ??= new Promise((resolve) =>
      this.out.once('drain', () => {
        this.drain = undefined;
        resolve();
      }),
    );
    return this.drain;
  }

  note(message: string): void {
    this.line(Date.now(), 'slipway', message);
  }

  onEvent(event: RunEvent): void | Promise<void> {
    const p = this.p;
    switch (event.type) {
      case 'run.started':
        this.line(event.at, 'run', `${event.pipeline}: run ${event.runId} on ${event.branch}@${event.commit.slice(0, 7)} (${event.jobs.length} jobs)`);
        break;
      case 'job.status': {
        const color = colorFor(p, event.status);
        const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
        const time = event.durationMs ? ` in ${formatMs(event.durationMs)}` : '';
        const reason = event.reason ? `: ${event.reason}` : '';
        this.line(event.at, event.job, color(`${ICONS[event.status]} ${event.status}${attempt}${time}${reason}`));
        break;
      }
      case 'step.started':
        this.line(event.at, event.job, p.cyan(`▶ ${event.name}`));
        break;
      case 'step.finished': {
        const ok = event.exitCode === 0;
        this.line(event.at, event.job, (ok ? p.green : p.red)(`${ok ? '✔' : '✘'} ${event.name} (exit ${event.exitCode}, ${formatMs(event.durationMs)})`));
        break;
      }
      case 'log':
        this.line(event.at, event.job, event.stream === 'system' ? p.dim(event.line) : `${p.dim('│')} ${event.line}`);
        return this.drained();
      case 'run.finished':
        break;
    }
  }

  finish(result: RunResult): void {
    this.out.write(summaryLines(result, this.p).join('\n') + '\n');
  }
}

interface JobView {
  plan: JobPlanView;
  status: JobStatus;
  reason?: string;
  startedAt?: number;
  durationMs?: number;
  steps: Array<{ status: JobStatus; startedAt?: number; durationMs?: number; exitCode?: number }>;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A live tree at the bottom of the terminal; log lines scroll above it. */
export class TreeReporter implements Reporter {
  private jobs: JobView[] = [];
  private title = '';
  private drawnLines = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer?: NodeJS.Timeout;
  private frame = 0;

  constructor(
    private readonly out: Out,
    private readonly p: Palette,
  ) {
    this.timer = setInterval(() => this.redraw(), 80);
    this.timer.unref();
  }

  note(message: string): void {
    this.queue(this.p.dim(message));
  }

  private queue(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes > 256 * 1024) this.redraw();
  }

  private job(name: string): JobView | undefined {
    return this.jobs.find((j) => j.plan.name === name);
  }

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run.started':
        this.title = `${event.pipeline} · run ${event.runId} · ${event.branch}@${event.commit.slice(0, 7)}`;
        this.jobs = event.jobs.map((plan) => ({ plan, status: 'pending', steps: plan.steps.map(() => ({ status: 'pending' as JobStatus })) }));
        break;
      case 'job.status': {
        const job = this.job(event.job);
        if (!job) break;
        job.status = event.status;
        if (event.reason) job.reason = event.reason;
        if (event.status === 'running') {
          job.startedAt = event.at;
          job.steps = job.plan.steps.map(() => ({ status: 'pending' }));
          if (event.attempt > 1) this.queue(this.p.yellow(`${event.job}: attempt ${event.attempt}`));
        }
        if (event.durationMs !== undefined) job.durationMs = event.durationMs;
        if (event.status === 'failure') this.queue(this.p.red(`${event.job}: failed: ${event.reason ?? ''}`));
        break;
      }
      case 'step.started': {
        const step = this.job(event.job)?.steps[event.step];
        if (step) Object.assign(step, { status: 'running', startedAt: event.at });
        break;
      }
      case 'step.finished': {
        const step = this.job(event.job)?.steps[event.step];
        if (step) Object.assign(step, { status: event.exitCode === 0 ? 'success' : 'failure', durationMs: event.durationMs, exitCode: event.exitCode });
        break;
      }
      case 'log':
        this.queue(`${this.p.dim(`${event.job} │`)} ${event.stream === 'system' ? this.p.dim(event.line) : event.line}`);
        break;
      case 'run.finished':
        break;
    }
  }

  private treeLines(): string[] {
    const p = this.p;
    const now = Date.now();
    const spin = SPINNER[this.frame % SPINNER.length] ?? '●';
    const lines = [p.bold(this.title)];
    this.jobs.forEach((job, i) => {
      const last = i === this.jobs.length - 1;
      const color = colorFor(p, job.status);
      const icon = job.status === 'running' ? spin : ICONS[job.status];
      const time = job.status === 'running' && job.startedAt ? formatMs(now - job.startedAt) : job.durationMs ? formatMs(job.durationMs) : '';
      const detail = job.status === 'skipped' || job.status === 'cancelled' || job.status === 'waiting' ? p.dim(job.reason ?? '') : p.dim(time);
      const waiting = job.status === 'pending' && job.plan.needs.length ? p.dim(`waits for ${job.plan.needs.join(', ')}`) : '';
      lines.push(`${last ? '└─' : '├─'} ${color(icon)} ${job.plan.name} ${detail}${waiting}`);
      if (job.status === 'running' || job.status === 'failure') {
        job.steps.forEach((step, s) => {
          const stepLast = s === job.steps.length - 1;
          const stepColor = colorFor(p, step.status);
          const stepIcon = step.status === 'running' ? spin : ICONS[step.status];
          const stepTime = step.status === 'running' && step.startedAt ? formatMs(now - step.startedAt) : step.durationMs !== undefined ? formatMs(step.durationMs) : '';
          const exit = step.exitCode ? p.red(` exit ${step.exitCode}`) : '';
          lines.push(`${last ? '   ' : '│  '}${stepLast ? '└─' : '├─'} ${stepColor(stepIcon)} ${job.plan.steps[s]} ${p.dim(stepTime)}${exit}`);
        });
      }
    });
    const width = this.out.columns || 120;
    return lines.map((l) => truncateVisible(l, width - 1));
  }

  private redraw(final = false): void {
    this.frame++;
    let text = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[J` : '';
    if (this.pending.length) text += this.pending.join('\n') + '\n';
    this.pending = [];
    this.pendingBytes = 0;
    const tree = this.jobs.length ? this.treeLines() : [];
    text += tree.map((l) => l + '\n').join('');
    this.drawnLines = final ? 0 : tree.length;
    this.out.write(text);
  }

  hold(held: boolean): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // the tree stays above the question, not redrawn over it
    this.redraw(held);
    if (!held) {
      this.timer = setInterval(() => this.redraw(), 80);
      this.timer.unref();
    }
  }

  finish(result: RunResult): void {
    if (this.timer) clearInterval(this.timer);
    this.redraw(true);
    this.out.write(summaryLines(result, this.p).join('\n') + '\n');
  }
}

/** Cuts a line with ANSI colour codes to `width` visible characters. */
function truncateVisible(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      if (end !== -1) {
        out += line.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}
