// `slipway status [APP]`: what is deployed where — environments, current revision, health, replicas,
// the proxy's port — on this machine or, with SLIPWAY_URL, on the server. Asking locally starts the
// deploy agent if none runs (that is what brings proxies back).
import { EXIT_OK, parseCommandLine, type Command } from './io.js';
import { refuseDataFlag, reportDeployError, targetFor, WHERE_OPTIONS } from './deploy.js';
import { openDeployDataDir } from './deploy-state.js';
import { environmentStatuses } from '../deploy/index.js';
import type { EnvironmentStatus } from '../api/index.js';
import { table } from './history.js';
import { formatElapsed } from './runs.js';
import { isRemote, RemoteClient } from './remote.js';

type Environment = EnvironmentStatus;

const HELP = `usage: slipway status [APP] [--env ENV] [--json]

Shows every environment deployed from this machine (or those of APP): its current revision and
image, the proxy's address, replicas ready of desired, and what happened last. With SLIPWAY_URL
set (or --remote), those the server deployed (token: $SLIPWAY_TOKEN).

On Kubernetes it also lists the fields of the live Deployment, Service and HorizontalPodAutoscaler
that differ from the current revision (drift: someone ran kubectl scale, set env, edit…);
slipway deploy ENV --sync puts them back.

options:
  -e, --env ENV   only this environment
  -v, --verbose   list every replica container with its state
      --data DIR  the deploy data directory (default: $SLIPWAY_STATE_DIR/deploy, else
                  $XDG_STATE_HOME/slipway/deploy)
      --json      print the status as JSON
      --remote    ask the server of $SLIPWAY_URL (the default when it is set)
      --local     ask this machine even when $SLIPWAY_URL is set
  -h, --help      this help
`;

export const status: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    {
    env: { type: 'string', short: 'e' },
    verbose: { type: 'boolean', short: 'v' },
    ...WHERE_OPTIONS,
    },
    HELP,
    { min: 0, max: 1, what: 'app name' },
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const app = parsed.positionals[0];
  let environments: Environment[];
  let approvals: string | undefined;
  if (isRemote(io, v)) {
    refuseDataFlag(v.data);
    const client = RemoteClient.fromEnv(io, 'status');
    environments = (await client.call('status', { query: { app, environment: v.env } })).environments;
    if (!v.json) approvals = await waitingApprovals(client, v.env);
  } else {
    try {
      const dataDir = await openDeployDataDir(v.data, io);
      environments = await environmentStatuses((name) => targetFor(name, dataDir), dataDir, app, v.env);
    } catch (err) {
      return reportDeployError(err, io, 'status');
    }
  }
  if (v.json) {
    io.stdout.write(`${JSON.stringify(environments, null, 2)}\n`);
    return EXIT_OK;
  }
  if (environments.length === 0) {
    io.stdout.write(app ? `${app} is not deployed\n` : 'nothing is deployed\n');
    if (approvals) io.stdout.write(approvals);
    return EXIT_OK;
  }
  const rows = environments.map((e) => [
    e.app,
    e.environment,
    e.current ? String(e.current.number) : '-',
    e.current?.image ?? '-',
    e.replicas.ready >= e.replicas.desired && e.replicas.desired > 0 ? 'healthy' : e.replicas.ready > 0 ? 'degraded' : 'down',
    `${e.replicas.ready}/${e.replicas.desired}`,
    e.endpoint ?? '-',
    e.message ?? '',
  ]);
  io.stdout.write(table([['APP', 'ENV', 'REV', 'IMAGE', 'HEALTH', 'READY', 'ENDPOINT', 'LAST'], ...rows]));
  io.stdout.write(environments.map((e) => describeDrift(e, v.verbose === true)).join(''));
  if (v.verbose) {
    for (const e of environments) {
      io.stdout.write(`\n${e.app}/${e.environment}:\n`);
      // docker's extra fields (the API's status schema does not carry them)
      const place = e as { network?: string; hosts?: string[] };
      if (place.network) io.stdout.write(`network ${place.network}: other apps call it as ${e.app} or ${e.app}.${e.environment} on its port\n`);
      if (place.hosts?.length) io.stdout.write(`hosts: ${place.hosts.join(', ')}\n`);
      io.stdout.write(table([['REPLICA', 'REV', 'STATE', 'PORT'], ...(e.replicaList ?? []).map((r) => [r.name, String(r.revision), r.state, r.hostPort ? `127.0.0.1:${r.hostPort}` : '-'])]));
    }
  }
  if (approvals) io.stdout.write(approvals);
  return EXIT_OK;
};

/** The jobs of the server's waiting runs that wait for a decision, with the command that gives it; undefined when none does. */
async function waitingApprovals(client: RemoteClient, environment: string | undefined): Promise<string | undefined> {
  const { runs } = await client.call('listRuns', { query: { status: 'waiting', limit: '50' } });
  if (runs.length === 0) return undefined;
  const projects = new Map((await client.call('listProjects', {})).projects.map((p) => [p.id, p.name]));
  const rows: string[][] = [];
  for (const run of runs) {
    const detail = await client.call('getRun', { params: { id: run.id } });
    for (const job of detail.jobs) {
      if (job.status !== 'waiting' || job.approval?.decision) continue;
      if (environment !== undefined && job.approval?.environment !== environment) continue;
      const since = job.approval ? formatElapsed(Date.now() - job.approval.waitingSinceMs) : '-';
      rows.push([`${projects.get(run.projectId) ?? run.projectId}#${run.number}`, job.name, job.approval?.environment ?? '-', since, `slipway approve ${run.id} ${job.name}`]);
    }
  }
  return rows.length ? `\nwaiting for approval:\n${table([['RUN', 'JOB', 'DEPLOYS TO', 'WAITING', 'TO APPROVE'], ...rows])}` : undefined;
}

/** The drifted fields of an environment and the command that puts them back; '' when none drifted. */
function describeDrift(e: Environment, verbose: boolean): string {
  const drift = e.drift;
  if (!drift) return '';
  if (drift.unchecked) return verbose ? `\n${e.app}/${e.environment}: drift not checked: ${drift.unchecked}\n` : '';
  if (drift.fields.length === 0) return '';
  const lines = drift.fields.map((f) => `  ${f.path ? `${f.object} ${f.message}` : f.message}\n`).join('');
  return `\n${e.app}/${e.environment} has drifted from revision ${drift.revision}:\n${lines}  slipway deploy ${e.environment} --app ${e.app} --sync puts revision ${drift.revision} back\n`;
}
