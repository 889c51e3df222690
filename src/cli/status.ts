// `slipway status [APP]`: what is deployed where — environments, current revision, health, replicas,
// the proxy's port. Asking starts the deploy agent if none runs (that is what brings proxies back).
import { EXIT_OK, parseCommandLine, UsageError, type Command } from './io.js';
import { deployDataDir, dockerTarget, reportDeployError, targetFor } from './deploy.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RevisionStore, type EnvironmentStatus } from '../deploy/index.js';
import { table } from './history.js';

/** (app, environment) pairs whose newest revision went to Kubernetes, from the revision history. */
async function kubernetesEnvironments(dataDir: string, app: string | undefined, environment: string | undefined): Promise<Array<{ app: string; environment: string }>> {
  const root = path.join(dataDir, 'deploy');
  const apps = app ? [app] : await readdir(root).catch(() => [] as string[]);
  const store = new RevisionStore(dataDir);
  const found: Array<{ app: string; environment: string }> = [];
  for (const a of apps) {
    const environments = environment ? [environment] : await readdir(path.join(root, a)).catch(() => [] as string[]);
    for (const e of environments) {
      const last = (await store.list(a, e).catch(() => [])).at(-1);
      if (last?.target === 'kubernetes') found.push({ app: a, environment: e });
    }
  }
  return found;
}

const HELP = `usage: slipway status [APP] [--env ENV] [--json]

Shows every environment deployed from this machine (or those of APP): its current revision and
image, the proxy's address, replicas ready of desired, and what happened last.

options:
  -e, --env ENV   only this environment
  -v, --verbose   list every replica container with its state
      --data DIR  the deploy data directory (default: $SLIPWAY_HOME/deploy)
      --json      print the status as JSON
  -h, --help      this help
`;

export const status: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    {
    env: { type: 'string', short: 'e' },
    verbose: { type: 'boolean', short: 'v' },
    data: { type: 'string' },
    json: { type: 'boolean' },
    },
    HELP,
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (parsed.positionals.length > 1) throw new UsageError(`takes at most one app name\n\n${HELP}`);
  const app = parsed.positionals[0];
  try {
    const dataDir = deployDataDir(v.data, io);
    const environments: Array<EnvironmentStatus & { replicaList?: Array<{ name: string; revision: number; state: string; hostPort?: number }> }> = [
      ...(await dockerTarget(dataDir).dockerStatus(app, v.env)),
    ];
    // environments deployed to Kubernetes are asked of the cluster, only when there are some
    const known = new Set(environments.map((e) => `${e.app}/${e.environment}`));
    const kubernetesApps = await kubernetesEnvironments(dataDir, app, v.env);
    if (kubernetesApps.length > 0) {
      const target = await targetFor('kubernetes', dataDir);
      for (const { app: a, environment } of kubernetesApps) {
        if (!known.has(`${a}/${environment}`)) environments.push(...(await target.status(a, environment)));
      }
    }
    if (v.json) {
      io.stdout.write(`${JSON.stringify(environments, null, 2)}\n`);
      return EXIT_OK;
    }
    if (environments.length === 0) {
      io.stdout.write(app ? `${app} is not deployed\n` : 'nothing is deployed\n');
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
    if (v.verbose) {
      for (const e of environments) {
        io.stdout.write(`\n${e.app}/${e.environment}:\n`);
        io.stdout.write(table([['REPLICA', 'REV', 'STATE', 'PORT'], ...(e.replicaList ?? []).map((r) => [r.name, String(r.revision), r.state, r.hostPort ? `127.0.0.1:${r.hostPort}` : '-'])]));
      }
    }
    return EXIT_OK;
  } catch (err) {
    return reportDeployError(err, io, 'status');
  }
};
