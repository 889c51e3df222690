// The error of a request to a server, and its exit code. Kept apart from the client so that the
// command dispatcher can recognise it without loading the API contract at every start.
import { EXIT_FAILED, EXIT_USAGE } from './io.js';

/** Codes that mean "you asked for something that cannot be": bad input, exit 2 like locally. */
const USAGE_CODES = new Set(['ROLLOUT_INVALID', 'ROLLOUT_NO_REVISION']);

/** A request the server refused (status ≥ 400), or a server that could not be reached (status 0). */
export class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** Bad input, a bad token or a missing scope: 2; a failure of the server or the thing asked: 1. */
  get exitCode(): number {
    if (USAGE_CODES.has(this.code)) return EXIT_USAGE;
    return [400, 401, 403, 413, 422].includes(this.status) ? EXIT_USAGE : EXIT_FAILED;
  }

  /** What follows `slipway CMD: ` on stderr. */
  describe(): string {
    return this.status === 0 ? this.message : `${this.status}: ${this.message}`;
  }
}

