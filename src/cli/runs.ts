// `slipway runs`: the server's runs, newest first, as `gh run list` shows them.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { RemoteClient } from './remote.js';
import { table } from './history.js';
import type { RunSummary } from '../api/index.js';
import { RUN_STATES } from '../store/types.js';

const HELP = `usage: slipway runs [--project P] [--branch B] [--status S] [--limit N] [--json]

Lists the runs of the server at $SLIPWAY_URL (token: $SLIPWAY_TOKEN), newest first.
  -p, --project P   only this project's runs
  -b, --branch B    only runs of this branch (or tag)
  -s, --status S    queued, running, waiting, success, failure, cancelled or interrupted
  -L, --limit N     at most N runs (default 20, at most 500)
      --json        print JSON
  -h, --help        this help
`;


/** "3m12s" from milliseconds; "-" when unknown. */
export function formatElapsed(ms: number | undefined): string {
  if (ms === undefined || ms < 0) return '-';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function ago(ms: number, now: number): string {
  return `${formatElapsed(now - ms)} ago`;
}

export function formatRuns(runs: RunSummary[], projects: Map<string, string>, now = Date.now()): string {
  return table([
    ['ID', 'PROJECT', '#', 'STATUS', 'BRANCH', 'COMMIT', 'MESSAGE', 'EVENT', 'BY', 'DURATION', 'QUEUED'],
    ...runs.map((r) => [
      r.id,
      projects.get(r.projectId) ?? r.projectId,
      String(r.number),
      r.status,
      r.trigger.branch || '-',
      r.trigger.commit.slice(0, 7),
      (r.trigger.commitMessage ?? '').split('\n')[0]!.slice(0, 40),
      r.trigger.event,
      r.trigger.sender,
      formatElapsed(r.startedAtMs === undefined ? undefined : (r.finishedAtMs ?? now) - r.startedAtMs),
      ago(r.createdAtMs, now),
    ]),
  ]);
}

export const runs: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    { project: { type: 'string', short: 'p' }, branch: { type: 'string', short: 'b' }, status: { type: 'string', short: 's' }, limit: { type: 'string', short: 'L' }, json: { type: 'boolean' } },
    HELP,
    { min: 0, max: 0, what: 'argument' },
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (v.status !== undefined && !(RUN_STATES as readonly string[]).includes(v.status)) throw new UsageError(`--status is one of ${RUN_STATES.join(', ')}, not '${v.status}'`);
  const limit = v.limit === undefined ? 20 : Number(v.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError(`--limit takes a whole number from 1 to 500, not '${v.limit}'`);
  const client = RemoteClient.fromEnv(io, 'runs');
  const page = await client.call('listRuns', { query: { project: v.project, branch: v.branch, status: v.status as RunSummary['status'] | undefined, limit: String(limit) } });
  if (v.json) {
    io.stdout.write(`${JSON.stringify(page.runs, null, 2)}\n`);
    return EXIT_OK;
  }
  if (page.runs.length === 0) {
    io.stdout.write('no runs\n');
    return EXIT_OK;
  }
  const projects = new Map((await client.call('listProjects')).projects.map((p) => [p.id, p.name]));
  io.stdout.write(formatRuns(page.runs, projects));
  return EXIT_OK;
};
