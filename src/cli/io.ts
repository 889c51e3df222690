// What a CLI command gets from the outside world: its streams, environment and working folder,
// passed in so that commands can be driven from tests without spawning a process.
import { parseArgs } from 'node:util';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** where secrets are read from (`slipway secret set`); default the process's */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}

export type Command = (argv: string[], io: CliIO) => Promise<number>;

/** Exit codes of the product contract. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A bad flag or argument: printed without a stack trace, exit 2. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), stdin: process.stdin };
}

type FlagOptions = NonNullable<import('node:util').ParseArgsConfig['options']>;

/** How many positional arguments a command takes, and what they are, for its usage error. */
export interface Positionals {
  min: number;
  max: number;
  /** e.g. "app name" */
  what: string;
}

/**
 * The flags and arguments of a command, with `-h/--help` added; a bad flag, or a number of
 * arguments outside `positionals`, is a UsageError that shows the command's help. Callers print
 * `help` themselves when `values.help` is set (and then the arguments are not counted).
 */
export function parseCommandLine<O extends FlagOptions>(argv: string[], options: O, help: string, positionals?: Positionals) {
  const parse = () => parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } }, allowPositionals: true, strict: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
  const count = parsed.positionals.length;
  if (positionals && !(parsed.values as { help?: boolean }).help && (count < positionals.min || count > positionals.max)) {
    const number = (n: number): string => (n === 1 ? 'one' : String(n));
    const wanted =
      positionals.min === positionals.max
        ? `takes ${number(positionals.min)} ${positionals.what}`
        : positionals.min === 0
          ? `takes at most ${number(positionals.max)} ${positionals.what}`
          : `takes ${positionals.min} to ${positionals.max} ${positionals.what}s`;
    throw new UsageError(`${wanted}, got ${count}\n\n${help}`);
  }
  return parsed;
}
