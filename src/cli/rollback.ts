// `slipway rollback APP [--env ENV] [--to REVISION]`: restores the previous different (or a named)
// healthy revision of an environment with the same rolling procedure as a deploy, on this machine or, with
// SLIPWAY_URL, on the server.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { dockerTarget, followRollout, progressPrinter, refuseDataFlag, reportDeployError, reportOutcome, targetFor, targetOfEnvironment, WHERE_OPTIONS } from './deploy.js';
import { openDeployDataDir } from './deploy-state.js';
import type { Revision } from '../api/index.js';
import { isRemote, RemoteClient } from './remote.js';

const HELP = `usage: slipway rollback APP [--env ENV] [--to REVISION]

Rolls environment ENV of APP back to revision REVISION, with a rolling update. Without --to: the
newest healthy revision before the current one that differs from it (image digest or config), as
kubectl rollout undo does, so a redeploy of the same image (deploy --force) is skipped over. The
rollback is a new revision in the history.
With SLIPWAY_URL set (or --remote) the server does it (token: $SLIPWAY_TOKEN, deploy scope).

options:
  -e, --env ENV         the environment (default: the app's only environment)
      --to REVISION     the revision number to restore (see slipway history APP)
      --data DIR        the deploy data directory (default: $SLIPWAY_STATE_DIR/deploy, else
                        $XDG_STATE_HOME/slipway/deploy)
      --json            print the outcome as JSON on stdout
      --remote          on the server of $SLIPWAY_URL (the default when it is set)
      --local           on this machine even when $SLIPWAY_URL is set
  -h, --help            this help

exit codes: 0 the restored revision is healthy, 1 the rollback failed, 2 bad usage or no such revision
`;

export const rollback: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    { env: { type: 'string', short: 'e' }, to: { type: 'string' }, ...WHERE_OPTIONS },
    HELP,
    { min: 1, max: 1, what: 'app name' },
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const app = parsed.positionals[0] ?? '';
  let to: number | undefined;
  if (v.to !== undefined) {
    to = Number(v.to.replace(/^#/, ''));
    if (!Number.isInteger(to) || to < 1) throw new UsageError(`--to takes a revision number, not '${v.to}'`);
  }
  if (isRemote(io, v)) {
    refuseDataFlag(v.data);
    const client = RemoteClient.fromEnv(io, 'rollback');
    const environment = v.env ?? onlyEnvironment((await client.call('appRevisions', { params: { app } })).revisions, app);
    const started = await client.call('rollback', { params: { app, env: environment }, body: to !== undefined ? { to } : {} });
    return followRollout(client, started, io, v.json === true, 'rollback');
  }
  const dataDir = await openDeployDataDir(v.data, io);
  try {
    const environment = v.env ?? onlyEnvironment(await dockerTarget(dataDir).history(app), app);
    // the environment is rolled back with the target it was deployed with
    const target = await targetFor(await targetOfEnvironment(dataDir, app, environment), dataDir);
    const outcome = await target.rollback({
      app,
      environment,
      ...(to !== undefined ? { to } : {}),
      by: io.env.USER ?? 'cli',
      signal: new AbortController().signal,
      onProgress: v.json ? () => undefined : progressPrinter(io),
    });
    const status = outcome.outcome === 'healthy' ? (await target.status(app, environment))[0] : undefined;
    return reportOutcome(outcome, io, v.json === true, status?.endpoint);
  } catch (err) {
    return reportDeployError(err, io, 'rollback');
  }
};

/** The environment of an app that has only one, from its revisions; several or none is a usage error. */
function onlyEnvironment(revisions: Revision[], app: string): string {
  const environments = [...new Set(revisions.map((r) => r.environment))];
  if (environments.length === 1 && environments[0]) return environments[0];
  if (environments.length === 0) throw new UsageError(`app '${app}' has no deployed environment`);
  throw new UsageError(`app '${app}' has several environments (${environments.join(', ')}); name one with --env`);
}
