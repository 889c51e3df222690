// `slipway rollback APP [--env ENV] [--to REVISION]`: restores the previous (or a named) healthy
// revision of an environment with the same rolling procedure as a deploy.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { deployDataDir, dockerTarget, progressPrinter, reportDeployError, reportOutcome, targetFor, targetOfEnvironment } from './deploy.js';

const HELP = `usage: slipway rollback APP [--env ENV] [--to REVISION]

Rolls environment ENV of APP back to revision REVISION (default: the newest healthy revision
before the current one), with a rolling update. The rollback is a new revision in the history.

options:
  -e, --env ENV         the environment (default: the app's only environment)
      --to REVISION     the revision number to restore (see slipway history APP)
      --data DIR        the deploy data directory (default: $SLIPWAY_HOME/deploy)
      --json            print the outcome as JSON on stdout
  -h, --help            this help

exit codes: 0 the restored revision is healthy, 1 the rollback failed, 2 bad usage or no such revision
`;

export const rollback: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    { env: { type: 'string', short: 'e' }, to: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' } },
    HELP,
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (parsed.positionals.length !== 1) throw new UsageError(`takes one app name, got ${parsed.positionals.length}\n\n${HELP}`);
  const app = parsed.positionals[0] ?? '';
  let to: number | undefined;
  if (v.to !== undefined) {
    to = Number(v.to.replace(/^#/, ''));
    if (!Number.isInteger(to) || to < 1) throw new UsageError(`--to takes a revision number, not '${v.to}'`);
  }
  const dataDir = deployDataDir(v.data, io);
  try {
    const environment = v.env ?? (await onlyEnvironment(dockerTarget(dataDir), app));
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

async function onlyEnvironment(target: ReturnType<typeof dockerTarget>, app: string): Promise<string> {
  const environments = [...new Set((await target.history(app)).map((r) => r.environment))];
  if (environments.length === 1 && environments[0]) return environments[0];
  if (environments.length === 0) throw new UsageError(`app '${app}' has no deployed environment`);
  throw new UsageError(`app '${app}' has several environments (${environments.join(', ')}); name one with --env`);
}
