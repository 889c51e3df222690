// `slipway promote APP --from ENV --to ENV`: rolls out what one environment serves — the same image
// reference and deploy config — to another, as a new revision there (trigger `promote`), on the
// server of SLIPWAY_URL or on this machine.
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { followRollout, progressPrinter, refuseDataFlag, reportDeployError, reportOutcome, targetFor, WHERE_OPTIONS } from './deploy.js';
import { openDeployDataDir } from './deploy-state.js';
import { checkPromotionNames, DeployError, planPromotion } from '../deploy/index.js';
import { isRemote, RemoteClient } from './remote.js';

const HELP = `usage: slipway promote APP --from ENV --to ENV [--no-follow] [--json]

Rolls the current revision of environment --from (its exact image reference and deploy config)
out to environment --to, with the same rolling update as a deploy. The promotion is a new
revision of --to, with trigger "promote from ENV#N". Only a source that serves a healthy revision
— its newest one, with every replica ready — is promoted. The fields bound to an environment come
from --to: the docker proxy's port (its current one, else a port is chosen) and the Kubernetes
namespace (its current one, else the source's).

With SLIPWAY_URL set (or --remote) the server promotes (token: $SLIPWAY_TOKEN with the deploy
scope, or deploy:ENV for the --to environment); otherwise this machine's deploy data.

options:
      --from ENV     the environment whose current revision is promoted (e.g. staging)
      --to ENV       the environment it is rolled out to (e.g. production)
      --no-follow    with a server: print the rollout's id and return once it has started
      --data DIR     the deploy data directory (default: $SLIPWAY_STATE_DIR/deploy, else
                     $XDG_STATE_HOME/slipway/deploy)
      --json         print the outcome (with --no-follow: the rollout) as JSON on stdout
      --remote       on the server of $SLIPWAY_URL (the default when it is set)
      --local        on this machine even when $SLIPWAY_URL is set
  -h, --help         this help

exit codes: 0 the promoted revision is healthy, 1 the source cannot be promoted (not healthy,
not ready, a rollout under way) or the rollout failed (rolled back), 2 bad usage
`;

export const promote: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    { from: { type: 'string' }, to: { type: 'string' }, 'no-follow': { type: 'boolean' }, ...WHERE_OPTIONS },
    HELP,
    { min: 1, max: 1, what: 'app name' },
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const app = parsed.positionals[0] ?? '';
  if (v.from === undefined || v.to === undefined) throw new UsageError(`both --from ENV and --to ENV are needed\n\n${HELP}`);
  const { from, to } = v;
  try {
    checkPromotionNames(app, from, to);
  } catch (err) {
    throw new UsageError((err as DeployError).message);
  }

  if (isRemote(io, v)) {
    refuseDataFlag(v.data);
    const client = RemoteClient.fromEnv(io, 'promote');
    const started = await client.call('promote', { params: { app }, body: { from, to } });
    if (v['no-follow']) {
      if (v.json) io.stdout.write(`${JSON.stringify(started, null, 2)}\n`);
      else io.stdout.write(`promoting ${app}/${from}#${started.from?.revision ?? '?'} (${started.image ?? '?'}) to ${to}: rollout ${started.id} (${client.url}/api/rollouts/${started.id})\n`);
      return EXIT_OK;
    }
    return followRollout(client, started, io, v.json === true, 'promote');
  }

  if (v['no-follow']) throw new UsageError('--no-follow is for a server (SLIPWAY_URL): on this machine the promotion is the command itself');
  const dataDir = await openDeployDataDir(v.data, io);
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const targets = (name: 'docker' | 'kubernetes') => targetFor(name, dataDir);
    const promotion = await planPromotion(targets, { app, from, to, by: io.env.USER ?? 'cli' });
    const say = v.json ? () => undefined : progressPrinter(io);
    for (const note of promotion.notes) say(note);
    const target = await targets(promotion.spec.target);
    const outcome = await target.deploy({
      app,
      environment: to,
      spec: promotion.spec,
      image: promotion.image,
      trigger: promotion.trigger,
      signal: controller.signal,
      onProgress: say,
    });
    const status = outcome.outcome === 'healthy' || outcome.outcome === 'unchanged' ? (await target.status(app, to))[0] : undefined;
    return reportOutcome(outcome, io, v.json === true, status?.endpoint);
  } catch (err) {
    return reportDeployError(err, io, 'promote');
  } finally {
    process.off('SIGINT', onSigint);
  }
};
