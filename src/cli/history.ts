// `slipway history APP [--env ENV]`: every rollout of an app as a table — revision, image, trigger,
// when, outcome, reason — with its scale events between them, from this machine's deploy data or,
// with SLIPWAY_URL, from the server.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { dockerTarget, refuseDataFlag, WHERE_OPTIONS } from './deploy.js';
import { openDeployDataDir } from './deploy-state.js';
import type { Revision, ScaleEvent } from '../api/index.js';
import { readScaleEvents } from '../deploy/index.js';
import { isRemote, RemoteClient } from './remote.js';

const HELP = `usage: slipway history APP [--env ENV] [--json]

Lists the revisions of APP (every deploy, rollback and promotion), oldest first: number, image, what
triggered it, when, its outcome and, for a failed one, why; between them, the changes of the
replica count that made no revision (slipway scale, the autoscaler: REV -). With SLIPWAY_URL set
(or --remote), those of the server (token: $SLIPWAY_TOKEN). --json prints the revisions only.

options:
  -e, --env ENV   only this environment
      --data DIR  the deploy data directory (default: $SLIPWAY_STATE_DIR/deploy, else
                  $XDG_STATE_HOME/slipway/deploy)
      --json      print the revisions as JSON
      --remote    from the server of $SLIPWAY_URL (the default when it is set)
      --local     from this machine even when $SLIPWAY_URL is set
  -h, --help      this help
`;

export const history: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    { env: { type: 'string', short: 'e' }, ...WHERE_OPTIONS },
    HELP,
    { min: 1, max: 1, what: 'app name' },
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const app = parsed.positionals[0] ?? '';
  let revisions: Revision[];
  // changes of the replica count without a revision (slipway scale, the autoscaler): shown between the revisions
  let scaleEvents: ScaleEvent[] = [];
  if (isRemote(io, v)) {
    refuseDataFlag(v.data);
    const client = RemoteClient.fromEnv(io, 'history');
    const answer = v.env !== undefined ? await client.call('environmentRevisions', { params: { app, env: v.env } }) : await client.call('appRevisions', { params: { app } });
    revisions = answer.revisions;
    scaleEvents = answer.scaleEvents ?? [];
  } else {
    try {
      const dataDir = await openDeployDataDir(v.data, io);
      revisions = await dockerTarget(dataDir).history(app, v.env);
      scaleEvents = await readScaleEvents(dataDir, app, v.env);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (v.json) {
    io.stdout.write(`${JSON.stringify(revisions, null, 2)}\n`);
    return EXIT_OK;
  }
  if (revisions.length === 0) {
    io.stdout.write(`no revisions of ${app}${v.env ? ` in ${v.env}` : ''}\n`);
    return EXIT_OK;
  }
  io.stdout.write(formatHistory(revisions, v.env === undefined, scaleEvents));
  return EXIT_OK;
};

/** Revisions and scale events in time order; a scale event's row has no revision number of its own. */
export function formatHistory(revisions: Revision[], showEnvironment: boolean, scaleEvents: ScaleEvent[] = []): string {
  const header = [...(showEnvironment ? ['ENV'] : []), 'REV', 'IMAGE', 'TRIGGER', 'WHEN', 'OUTCOME', 'REASON'];
  const when = (iso: string) => iso.replace('T', ' ').slice(0, 19);
  const rows = [
    ...revisions.map((r) => ({
      at: r.createdAt,
      cells: [...(showEnvironment ? [r.environment] : []), String(r.number), r.image, triggerOf(r), when(r.createdAt), r.outcome, (r.reason ?? '').split('\n')[0]?.slice(0, 100) ?? ''],
    })),
    ...scaleEvents.map((e) => ({
      at: e.at,
      cells: [...(showEnvironment ? [e.environment] : []), '-', `replicas ${e.from} → ${e.to}`, `scale by ${e.by}`, when(e.at), e.outcome, (e.reason ?? e.cause ?? '').split('\n')[0]?.slice(0, 100) ?? ''],
    })),
  ];
  // stable: revisions keep their order, each scale event goes after what happened before it
  rows.sort((a, b) => a.at.localeCompare(b.at));
  return table([header, ...rows.map((r) => r.cells)]);
}

/** "deploy by alice", "rollback by bob (of 3)", "promote from staging#3 by carol", "pipeline by x run 01J…". */
export function triggerOf(r: Revision): string {
  const { kind, by, from, runId } = r.trigger;
  const source = kind === 'promote' && from ? ` from ${from.environment}#${from.revision}` : '';
  return `${kind}${source} by ${by}${r.restoredFrom !== undefined ? ` (of ${r.restoredFrom})` : ''}${runId ? ` run ${runId}` : ''}`;
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}
