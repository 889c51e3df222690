// `on.schedule`: runs started by the clock. The checks the validator runs on a cron expression and
// a time zone, the warning for a schedule written twice, and the pure tick arithmetic the server's
// scheduler uses. Cron semantics (ranges, names, L/W/#, DST) are croner's; the messages are ours.
import { createHash } from 'node:crypto';
import { Cron, type CronOptions } from 'croner';
import type { DiagnosticList } from './diagnostics.js';
import type { Pipeline, Schedule, Triggers } from './model.js';
import type { RawPipeline } from './schema.js';
import { closest } from './suggest.js';
import type { YamlSource } from './yaml-source.js';

/** At most this many schedules per file: each is a git read and a claim on every tick of every replica. */
export const MAX_SCHEDULES = 20;
/** A cron expression longer than this is not a mistake anyone makes by hand. */
export const MAX_CRON_LENGTH = 200;
export const DEFAULT_TIMEZONE = 'UTC';
// git's rules are looser; this keeps option-like and odd names away from the git command line
export const SCHEDULE_BRANCH_PATTERN = '^(?!-)(?!.*\\.\\.)(?!.*//)(?!.*/$)[A-Za-z0-9._/-]{1,200}$';

// croner's own set; @reboot has no meaning for a server that restarts when it likes
const SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  // 0 and 7 are both Sunday, as in Vixie cron
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

/** What is wrong with a value, and at which character of it (for the column of the diagnostic). */
export interface ValueProblem {
  message: string;
  index?: number;
}

// "no-wildcard": a job whose minute and hour have no * or step is a fixed-time job, as in Vixie
// cron: in a DST gap it runs at the first time after the gap, and a time that occurs twice runs it
// once. Other jobs skip the gap and run on both occurrences. OR of day-of-month and day-of-week
// (croner's default) is POSIX cron's rule too.
const cronOptions = (timezone: string): CronOptions => ({ mode: '5-part', paused: true, timezone, fixedTimeRule: 'no-wildcard' });

/** Whether a cron expression is one Slipway runs: five valid fields that match some date. */
export function cronProblem(value: string): ValueProblem | undefined {
  if (value.length > MAX_CRON_LENGTH) return { message: `it is ${value.length} characters; a cron expression has at most ${MAX_CRON_LENGTH}` };
  const fields = [...value.matchAll(/\S+/g)];
  if (fields.length === 0) return { message: 'it is empty; write five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5"' };
  const nickname = fields.length === 1 && fields[0]![0].startsWith('@');
  if (nickname && !SHORTHANDS.includes(fields[0]![0].toLowerCase())) {
    return { message: `'${fields[0]![0].slice(0, 40)}' is not a shorthand Slipway knows; use ${SHORTHANDS.join(', ')}, or five fields`, index: fields[0]!.index };
  }
  if (!nickname && fields.length !== 5) {
    // seconds would let a schedule start sixty runs a minute, and a sixth field means seconds to
    // croner but years to Quartz: five fields, as in crontab and GitHub Actions, mean one thing
    const extra = fields.length > 5 ? '; a seconds or years field is not supported: the finest schedule is once a minute' : '';
    return { message: `it has ${fields.length} fields; a cron expression has 5: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5"${extra}` };
  }
  if (!nickname) {
    for (const [i, field] of fields.entries()) {
      const problem = rangeProblem(field[0], FIELDS[i]!);
      if (problem) return { message: problem, index: field.index };
    }
  }
  let cron: Cron;
  try {
    cron = new Cron(value.trim(), cronOptions(DEFAULT_TIMEZONE));
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^CronPattern:\s*/, '') : String(err);
    return { message: reason.slice(0, 300) };
  }
  // a pattern repeats at least every 28 years, so one reference date answers for all
  if (cron.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return { message: 'it never fires: no date matches it (e.g. day 30 of February)' };
  return undefined;
}

/** The first number of a field outside its range: croner's own message is off by one for days and months. */
function rangeProblem(field: string, range: (typeof FIELDS)[number]): string | undefined {
  for (const item of field.split(',')) {
    const [base = '', step] = item.split('/');
    if (step !== undefined && /^\d+$/.test(step) && (Number(step) < 1 || Number(step) > range.max)) {
      return `${range.name} step /${step} is out of range 1–${range.max}`;
    }
    for (const bound of base.split('-')) {
      const digits = /^\d+/.exec(bound)?.[0];
      if (digits === undefined) continue;
      const n = Number(digits);
      if (n < range.min || n > range.max) return `${range.name} ${digits} is out of range ${range.min}–${range.max}`;
    }
  }
  return undefined;
}

let zones: string[] | undefined;

/** Whether a time zone is an IANA name this Node knows, as IANA spells it. */
export function timezoneProblem(value: string): ValueProblem | undefined {
  zones ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
  const guess = (): string => {
    const match = closest(value, zones ?? []);
    return match ? ` (did you mean '${match}'?)` : '; write an IANA name such as Europe/Berlin, America/New_York or UTC';
  };
  // an offset (+01:00) or an abbreviation with a blank is no zone: DST would be lost
  if (value.length > 64 || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value)) return { message: `not an IANA time zone name${guess()}` };
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return { message: `not a time zone this server knows${guess()}` };
  }
  if (resolved !== value && resolved.toLowerCase() === value.toLowerCase()) return { message: `write it as IANA spells it: '${resolved}'` };
  return undefined;
}

/** The problem of a schedule's cron or timezone value, for the validator's leaf checks. */
export function scheduleValueProblem(check: 'cron' | 'timezone', value: string): ValueProblem | undefined {
  return check === 'cron' ? cronProblem(value) : timezoneProblem(value);
}

/** Blanks between fields as written do not make another schedule. */
export function normalizeCron(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

/**
 * A schedule's identity across edits of the file: the same cron, branch and timezone are the same
 * schedule (its claimed ticks carry over); moving it in the list or editing a job changes nothing.
 */
export function scheduleKey(schedule: Pick<Schedule, 'cron' | 'branch' | 'timezone'>): string {
  return createHash('sha256').update(`${normalizeCron(schedule.cron)}\n${schedule.branch ?? ''}\n${schedule.timezone}`).digest('hex').slice(0, 32);
}

/** `on.schedule` as the typed Pipeline has it: the timezone filled in, the position kept. */
export function compileSchedules(src: YamlSource, raw: RawPipeline): Pick<Triggers, 'schedule'> {
  const list = raw.on?.schedule;
  if (!list) return {};
  return {
    schedule: list.map((entry, i) => {
      const at = src.valueAt(['on', 'schedule', i]);
      return {
        cron: normalizeCron(entry.cron),
        ...(entry.branch !== undefined ? { branch: entry.branch } : {}),
        timezone: entry.timezone ?? DEFAULT_TIMEZONE,
        position: { file: src.file, line: at.line, col: at.col },
      };
    }),
  };
}

/** The pipeline's schedules (none when it declares no `on.schedule`). */
export function schedulesOf(pipeline: Pipeline): Schedule[] {
  return pipeline.triggers.schedule ?? [];
}

// Parsing a pattern is cheap, but the scheduler asks for every schedule of every project each minute.
const parsed = new Map<string, Cron>();
function cronOf(schedule: Pick<Schedule, 'cron' | 'timezone'>): Cron {
  const key = `${schedule.timezone} ${normalizeCron(schedule.cron)}`;
  let cron = parsed.get(key);
  if (!cron) {
    if (parsed.size >= 1000) parsed.clear();
    cron = new Cron(normalizeCron(schedule.cron), cronOptions(schedule.timezone));
    parsed.set(key, cron);
  }
  return cron;
}

/** The first tick strictly after `afterMs` (ms since the epoch), or undefined if it never fires again. */
export function nextTick(schedule: Pick<Schedule, 'cron' | 'timezone'>, afterMs: number): number | undefined {
  return cronOf(schedule).nextRun(new Date(afterMs))?.getTime() ?? undefined;
}

/** The newest tick at or before `atMs`, or undefined if there is none. */
export function latestTick(schedule: Pick<Schedule, 'cron' | 'timezone'>, atMs: number): number | undefined {
  // croner counts a run earlier in the reference's second, not one exactly at it: one ms later counts both
  return cronOf(schedule).previousRuns(1, new Date(atMs + 1))[0]?.getTime();
}

/** A schedule written twice runs once (they share a key): say so where the second one is. */
export function checkSchedules(src: YamlSource, diags: DiagnosticList): void {
  const raw = src.toJS() as { on?: { schedule?: unknown } } | null;
  const list = raw?.on?.schedule;
  if (!Array.isArray(list)) return;
  const seen = new Map<string, number>();
  list.forEach((entry: unknown, i) => {
    if (entry === null || typeof entry !== 'object') return;
    // an entry with an unknown key has its error already: a warning on top would be noise
    if (Object.keys(entry).some((key) => key !== 'cron' && key !== 'branch' && key !== 'timezone')) return;
    const { cron, branch, timezone } = entry as Record<string, unknown>;
    if (typeof cron !== 'string' || (branch !== undefined && typeof branch !== 'string') || (timezone !== undefined && typeof timezone !== 'string')) return;
    const key = scheduleKey({ cron, ...(branch !== undefined ? { branch } : {}), timezone: timezone ?? DEFAULT_TIMEZONE });
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else diags.warning('SPEC_SCHEDULE', `schedule ${i + 1} of 'on.schedule' is the same as schedule ${first + 1} (cron, branch and timezone): it runs once; remove one`, src.valueAt(['on', 'schedule', i]));
  });
}
