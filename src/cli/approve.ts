// `slipway approve RUN JOB` / `slipway reject RUN JOB [--reason …]`: the decision on a job that
// waits for approval (when: manual, or a deploy to a protected environment) on the server.
import { EXIT_OK, parseCommandLine, type CliIO, type Command } from './io.js';
import { RemoteClient } from './remote.js';

const APPROVE_HELP = `usage: slipway approve RUN JOB

Approves job JOB of run RUN on the server at $SLIPWAY_URL (token: $SLIPWAY_TOKEN): the job waits for
approval (when: manual, or it deploys to a protected environment) and starts now. Who approved and
when is recorded on the job, in its log and in the audit log.

The token needs the run scope; for a job that deploys to an environment, deploy or
deploy:<environment> (e.g. deploy:production).

options:
  -h, --help   this help

exit codes: 0 approved, 1 the server refused (the job does not wait, or was decided already: 409),
2 bad usage, or a token without the right (403)
`;

const REJECT_HELP = `usage: slipway reject RUN JOB [--reason TEXT]

Rejects job JOB of run RUN on the server at $SLIPWAY_URL (token: $SLIPWAY_TOKEN): the job is skipped
with the reason, and so are the jobs that need it; the run ends when nothing else is left.
Same rights as slipway approve.

options:
  -r, --reason TEXT   why (kept on the job and in the audit log; at most 1000 characters)
  -h, --help          this help

exit codes: 0 rejected, 1 the server refused (the job does not wait, or was decided already: 409),
2 bad usage, or a token without the right (403)
`;

async function decide(argv: string[], io: CliIO, verb: 'approve' | 'reject'): Promise<number> {
  const positionals = { min: 2, max: 2, what: 'run id and job name' };
  const parsed = verb === 'approve'
    ? parseCommandLine(argv, {}, APPROVE_HELP, positionals)
    : parseCommandLine(argv, { reason: { type: 'string', short: 'r' } }, REJECT_HELP, positionals);
  if (parsed.values.help) {
    io.stdout.write(verb === 'approve' ? APPROVE_HELP : REJECT_HELP);
    return EXIT_OK;
  }
  const [runId = '', job = ''] = parsed.positionals;
  const client = RemoteClient.fromEnv(io, verb);
  const params = { id: runId, job };
  const reason = 'reason' in parsed.values && typeof parsed.values.reason === 'string' ? parsed.values.reason : undefined;
  const decided = verb === 'approve'
    ? await client.call('approveJob', { params })
    : await client.call('rejectJob', { params, body: reason !== undefined ? { reason } : {} });
  const by = decided.approval?.decision?.by;
  io.stdout.write(`run ${runId}: ${job} ${verb === 'approve' ? 'approved' : 'rejected'}${by ? ` by ${by}` : ''}${verb === 'approve' ? '; it starts now (slipway logs -f ' + runId + ')' : ''}\n`);
  return EXIT_OK;
}

export const approve: Command = (argv, io) => decide(argv, io, 'approve');
export const reject: Command = (argv, io) => decide(argv, io, 'reject');
