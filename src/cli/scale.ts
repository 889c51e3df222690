// `slipway scale APP [--env ENV] N`: sets the replica count of an environment's current revision —
// no new image, no new revision, a scale event in the history — on this machine or, with
// SLIPWAY_URL, on the server; waits until N replicas serve.
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandLine, UsageError, type CliIO, type Command } from './io.js';
import { dockerTarget, followToEnd, progressPrinter, refuseDataFlag, reportDeployError, targetFor, targetOfEnvironment, WHERE_OPTIONS } from './deploy.js';
import { openDeployDataDir } from './deploy-state.js';
import { MAX_REPLICAS, type ScaleOutcome } from '../deploy/index.js';
import type { Revision, Rollout } from '../api/index.js';
import { isRemote, RemoteClient } from './remote.js';

const HELP = `usage: slipway scale APP [--env ENV] N

Sets the number of replicas of environment ENV of APP to N (0 to ${MAX_REPLICAS}) without a new
image or revision, and waits until N replicas serve. Replicas leave through the proxy's drain, so
no request fails. The history shows it as a scale event; self-healing and restarts keep the count,
and so does a later deploy unless its deploy block changes replicas (docs/cli/scale.md). 0 stops
every replica and keeps the environment (its proxy answers 503) until it is scaled up or deployed.
With autoscale in the deploy block, N must be within its min..max and the autoscaler goes on from it.
With SLIPWAY_URL set (or --remote) the server does it (token: $SLIPWAY_TOKEN, deploy scope).

options:
  -e, --env ENV         the environment (default: the app's only environment)
      --data DIR        the deploy data directory (default: $SLIPWAY_STATE_DIR/deploy, else
                        $XDG_STATE_HOME/slipway/deploy)
      --json            print the outcome as JSON on stdout
      --remote          on the server of $SLIPWAY_URL (the default when it is set)
      --local           on this machine even when $SLIPWAY_URL is set
  -h, --help            this help

exit codes: 0 N replicas serve (or already did), 1 they did not (the previous count was restored),
2 bad usage, an environment never deployed, or N outside autoscale's min..max
`;

export const scale: Command = async (argv, io) => {
  const parsed = parseCommandLine(argv, { env: { type: 'string', short: 'e' }, ...WHERE_OPTIONS }, HELP, { min: 2, max: 2, what: 'argument (APP and N)' });
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const [app = '', count = ''] = parsed.positionals;
  const replicas = Number(count);
  if (!/^[0-9]+$/.test(count) || replicas > MAX_REPLICAS) throw new UsageError(`N is a whole number of replicas from 0 to ${MAX_REPLICAS}, not '${count}'`);
  const by = io.env.USER ?? 'cli';
  if (isRemote(io, v)) {
    refuseDataFlag(v.data);
    const client = RemoteClient.fromEnv(io, 'scale');
    const environment = v.env ?? onlyEnvironment((await client.call('appRevisions', { params: { app } })).revisions, app);
    const started = await client.call('scale', { params: { app, env: environment }, body: { replicas } });
    return followScale(client, started, io, v.json === true);
  }
  const dataDir = await openDeployDataDir(v.data, io);
  try {
    const environment = v.env ?? onlyEnvironment(await dockerTarget(dataDir).history(app), app);
    // the environment is scaled with the target it was deployed with
    const target = await targetFor(await targetOfEnvironment(dataDir, app, environment), dataDir);
    const outcome = await target.scale({ app, environment, replicas, by, signal: new AbortController().signal, onProgress: v.json ? () => undefined : progressPrinter(io) });
    const status = outcome.outcome === 'healthy' ? (await target.status(app, environment))[0] : undefined;
    return reportScale(outcome, io, v.json === true, status?.endpoint);
  } catch (err) {
    return reportDeployError(err, io, 'scale');
  }
};

/** The outcome's lines and exit code, the same for a scale here and on the server. */
function reportScale(outcome: ScaleOutcome, io: CliIO, json: boolean, endpoint?: string): number {
  const { event } = outcome;
  const where = `${event.app}/${event.environment}`;
  const replicas = (n: number) => `${n} replica${n === 1 ? '' : 's'}`;
  if (json) io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else if (outcome.unchanged) io.stdout.write(`${where}: already ${replicas(event.to)}${event.revision !== undefined ? ` of revision ${event.revision}` : ''}; nothing changed\n`);
  else if (outcome.outcome === 'healthy') {
    io.stdout.write(`${where}: ${replicas(event.to)}${event.revision !== undefined ? ` of revision ${event.revision}` : ''} serve${event.to === 1 ? 's' : ''} (scaled from ${event.from} by ${event.by})${endpoint ? ` at ${endpoint}` : ''}\n`);
  }
  if (outcome.outcome !== 'healthy') {
    io.stderr.write(`${where}: scaling from ${event.from} to ${event.to} failed; back to ${replicas(event.from)}\n${outcome.reason ?? ''}\n`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

/** Follows a scale the server accepted, as followRollout does a rollout; Ctrl-C cancels it there. */
async function followScale(client: RemoteClient, started: Rollout, io: CliIO, json: boolean): Promise<number> {
  const ended = await followToEnd(client, started, io, json, 'scale');
  if (ended.status === 'error' || !ended.scale) {
    const code = ended.error?.code ?? 'INTERNAL';
    io.stderr.write(`slipway scale: ${ended.error?.message ?? 'the scale ended without an outcome'} (${code})\n`);
    return code === 'ROLLOUT_INVALID' || code === 'ROLLOUT_NO_REVISION' ? EXIT_USAGE : EXIT_FAILED;
  }
  const { scale: event } = ended;
  return reportScale({ event, outcome: event.outcome, ...(event.reason !== undefined ? { reason: event.reason } : {}), ...(ended.status === 'unchanged' ? { unchanged: true } : {}) }, io, json, ended.endpoint);
}

/** The environment of an app that has only one, from its revisions; several or none is a usage error. */
function onlyEnvironment(revisions: Revision[], app: string): string {
  const environments = [...new Set(revisions.map((r) => r.environment))];
  if (environments.length === 1 && environments[0]) return environments[0];
  if (environments.length === 0) throw new UsageError(`app '${app}' has no deployed environment`);
  throw new UsageError(`app '${app}' has several environments (${environments.join(', ')}); name one with --env`);
}
