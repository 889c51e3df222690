// `slipway history APP [--env ENV]`: every rollout of an app as a table — revision, image, trigger,
// when, outcome, reason — from this machine's deploy data or, with SLIPWAY_URL, from the server.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { deployDataDir, dockerTarget, refuseDataFlag, WHERE_OPTIONS } from './deploy.js';
import type { Revision } from '../api/index.js';
import { isRemote, RemoteClient } from './remote.js';

const HELP = `usage: slipway history APP [--env ENV] [--json]

Lists the revisions of APP (every deploy, rollback and promotion), oldest first: number, image, what
triggered it, when, its outcome and, for a failed one, why. With SLIPWAY_URL set (or --remote),
those of the server (token: $SLIPWAY_TOKEN).

options:
  -e, --env ENV   only this environment
      --data DIR  the deploy data directory (default: $SLIPWAY_HOME/deploy)
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
  if (isRemote(io, v)) {
    refuseDataFlag(v.data);
    const client = RemoteClient.fromEnv(io, 'history');
    revisions = (v.env !== undefined ? await client.call('environmentRevisions', { params: { app, env: v.env } }) : await client.call('appRevisions', { params: { app } })).revisions;
  } else {
    try {
      revisions = await dockerTarget(deployDataDir(v.data, io)).history(app, v.env);
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
  io.stdout.write(formatHistory(revisions, v.env === undefined));
  return EXIT_OK;
};

export function formatHistory(revisions: Revision[], showEnvironment: boolean): string {
  const header = [...(showEnvironment ? ['ENV'] : []), 'REV', 'IMAGE', 'TRIGGER', 'WHEN', 'OUTCOME', 'REASON'];
  const rows = revisions.map((r) => [
    ...(showEnvironment ? [r.environment] : []),
    String(r.number),
    r.image,
    triggerOf(r),
    r.createdAt.replace('T', ' ').slice(0, 19),
    r.outcome,
    (r.reason ?? '').split('\n')[0]?.slice(0, 100) ?? '',
  ]);
  return table([header, ...rows]);
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
