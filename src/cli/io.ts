// What a CLI command gets from the outside world: its streams, environment and working folder,
// passed in so that commands can be driven from tests without spawning a process.

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
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
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
