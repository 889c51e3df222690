// `slipway logs RUN [-f]`: a run's log lines from the server (SLIPWAY_URL, SLIPWAY_TOKEN); with
// -f it follows them live over Server-Sent Events, resuming where it was after a dropped connection.
import { EXIT_FAILED, EXIT_OK, parseCommandLine, type CliIO, type Command } from './io.js';
import { RemoteClient } from './remote.js';
import type { LogLine } from '../api/index.js';

const HELP = `usage: slipway logs RUN [-f]

Prints the log lines of a run of the server at $SLIPWAY_URL (token: $SLIPWAY_TOKEN).
  -f, --follow   keep printing new lines until the run ends; exit 0 if it passed, 1 otherwise
  -h, --help     this help
`;

const print = (io: CliIO, l: LogLine): void => void io.stdout.write(`[${l.job}] ${l.line}\n`);

/**
 * Prints a run's lines as they come until it ends; says how it ended on stderr. Exit 0 when it
 * passed, 1 otherwise. `slipway run --remote` follows its run with this too.
 */
export async function followRunLogs(client: RemoteClient, runId: string, io: CliIO): Promise<number> {
  let status = 'unknown';
  await client.follow(client.pathOf('runLogs', { params: { id: runId } }), (event) => {
    if (event.event === 'log') print(io, JSON.parse(event.data) as LogLine);
    else if (event.event === 'end') {
      status = (JSON.parse(event.data) as { status: string }).status;
      return true;
    }
    return false;
  });
  io.stderr.write(`run ${runId} ${status}\n`);
  return status === 'success' ? EXIT_OK : EXIT_FAILED;
}

export const logs: Command = async (argv: string[], io: CliIO): Promise<number> => {
  const parsed = parseCommandLine(argv, { follow: { type: 'boolean', short: 'f' } }, HELP, { min: 1, max: 1, what: 'run id' });
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const runId = parsed.positionals[0] ?? '';
  const client = RemoteClient.fromEnv(io, 'logs');
  if (parsed.values.follow) return followRunLogs(client, runId, io);
  // the server answers a page at a time
  for (let after = 0; ; ) {
    const { lines } = await client.call('runLogs', { params: { id: runId }, query: { after: String(after) } });
    for (const line of lines) print(io, line);
    if (lines.length === 0) return EXIT_OK;
    after = lines.at(-1)?.seq ?? after;
  }
};
