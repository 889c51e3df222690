// `slipway cancel RUN`: cancels a queued or running run of the server (SLIPWAY_URL, SLIPWAY_TOKEN)
// and, unless --no-wait, waits until it has stopped: its containers are gone when this returns.
import { EXIT_FAILED, EXIT_OK, parseCommandLine, type Command } from './io.js';
import { RemoteClient } from './remote.js';

const HELP = `usage: slipway cancel RUN [--no-wait]

Cancels run RUN of the server at $SLIPWAY_URL (token: $SLIPWAY_TOKEN, with the run scope): a queued
run never starts, a running one is stopped and its containers removed.

options:
      --no-wait   return once the server accepted the cancellation, without waiting for the stop
  -h, --help      this help

exit codes: 0 the run is cancelled, 1 it could not be (it had already ended, or no such run),
2 bad usage or a token without the run scope
`;

const STOP_TIMEOUT_MS = 120_000;
const POLL_MS = 200;

export const cancel: Command = async (argv, io) => {
  const parsed = parseCommandLine(argv, { 'no-wait': { type: 'boolean' } }, HELP, { min: 1, max: 1, what: 'run id' });
  if (parsed.values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const runId = parsed.positionals[0] ?? '';
  const client = RemoteClient.fromEnv(io, 'cancel');
  await client.call('cancelRun', { params: { id: runId } });
  if (parsed.values['no-wait']) {
    io.stdout.write(`run ${runId}: cancelling\n`);
    return EXIT_OK;
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  for (;;) {
    const run = await client.call('getRun', { params: { id: runId } });
    if (run.status !== 'queued' && run.status !== 'running') {
      io.stdout.write(`run ${runId} ${run.status}${run.reason ? `: ${run.reason}` : ''}\n`);
      // it may have ended on its own between the request and the stop
      return run.status === 'cancelled' ? EXIT_OK : EXIT_FAILED;
    }
    if (Date.now() > deadline) {
      io.stderr.write(`slipway cancel: run ${runId} is still ${run.status} after ${STOP_TIMEOUT_MS / 1000}s; see slipway logs ${runId}\n`);
      return EXIT_FAILED;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
};
