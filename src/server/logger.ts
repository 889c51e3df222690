// The server's log: pino, as JSON lines when stderr is read by a program, as one readable line
// per record on a terminal; and the `(message) => void` callback the deeper modules take, made from it.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What the server's modules are handed to log with: a message, at info unless made otherwise. */
export type LogMessage = (message: string) => void;

/** What `startServer` takes: the server's logger, or a plain function that gets each line as text. */
export type ServerLog = Logger | LogMessage;

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** Where log lines go: a stream (stderr), or anything with `write`. */
export interface LogOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface LoggerOptions {
  /** default info */
  level?: LogLevel;
  /** default process.stderr */
  output?: LogOutput;
  /** one readable line per record instead of JSON; default: whether `output` is a terminal */
  pretty?: boolean;
}

/** Credentials never reach the log, whoever logs a request or its headers. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const output = options.output ?? process.stderr;
  const pretty = options.pretty ?? output.isTTY === true;
  const destination: DestinationStream = pretty ? lineDestination(output, (record) => `${formatPrettyLine(record)}\n`) : output;
  return pino({ level: options.level ?? 'info', redact: REDACTED_PATHS }, destination);
}

/** A logger whose records reach `log` as text (message, fields, stack): what tests and embedders pass. */
export function loggerOfFunction(log: LogMessage, level: LogLevel = 'info'): Logger {
  return pino({ level, base: undefined, redact: REDACTED_PATHS }, lineDestination({ write: log }, formatRecord));
}

/** The server's logger, from whichever of the two `startServer` was given. */
export function toLogger(log: ServerLog): Logger {
  return typeof log === 'function' ? loggerOfFunction(log) : log;
}

/**
 * The callback the deeper modules take, logging to `logger` at `level`. A message that carries a
 * stack trace is something that threw unexpectedly: it goes at error, its stack as a field.
 */
export function messageLog(logger: Logger, level: 'info' | 'warn' = 'info'): LogMessage {
  return (message) => {
    const stackAt = message.search(/\n\s+at /);
    if (stackAt === -1) {
      logger[level](message);
      return;
    }
    const firstLine = message.indexOf('\n');
    logger.error({ stack: message.slice(firstLine + 1) }, message.slice(0, firstLine));
  };
}

/** A pino destination that formats each JSON line pino writes, in this process (no worker thread). */
function lineDestination(output: LogOutput, format: (record: LogRecord) => string): DestinationStream {
  return {
    write(line: string) {
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        output.write(line);
        return;
      }
      output.write(format(record));
    },
  };
}

type LogRecord = Record<string, unknown> & { level?: number; time?: number; msg?: string };

const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OWN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err', 'stack']);

function levelLabel(level: unknown): string {
  return (LABELS[level as number] ?? String(level)).padEnd(5);
}

/** HH:MM:SS in local time: a terminal is read by the person sitting at it. */
function formatTime(time: unknown): string {
  const at = new Date(typeof time === 'number' ? time : Date.now());
  return [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** `message key=value…`, then an error's stack on the lines below, indented. */
export function formatRecord(record: Record<string, unknown>): string {
  const fields = Object.entries(record)
    .filter(([key, value]) => !OWN_KEYS.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  let line = [typeof record.msg === 'string' ? record.msg : '', ...fields].filter((part) => part !== '').join(' ');
  const err = record.err as { stack?: unknown; message?: unknown } | undefined;
  const stack = typeof err?.stack === 'string' ? err.stack : typeof record.stack === 'string' ? record.stack : undefined;
  if (stack !== undefined) line += `\n${stack.replace(/^(?!\s)/gm, '    ')}`;
  else if (err && typeof err.message === 'string') line += ` err=${formatValue(err.message)}`;
  return line;
}

/** The TTY line of one record, as `createLogger` writes it on a terminal: `12:03:04 INFO  message key=value…`. */
export function formatPrettyLine(record: Record<string, unknown>): string {
  return `${formatTime(record.time)} ${levelLabel(record.level)} ${formatRecord(record)}`;
}
