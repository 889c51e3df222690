// `slipway run`: runs the pipeline on this machine, like the server would, with the workspace
// taken from the git work tree as it is on disk; or, with --remote, starts a run of the project on
// the server and follows its logs.
import { parseArgs } from 'node:util';
import { gitMaybe } from '../git/index.js';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, type CliIO, type Command } from './io.js';
import { formatDiagnostic, loadPipeline } from '../spec/index.js';
import { executeRun, RunStorage, slipwayHome, snapshotWorkspace, WorkspaceError } from '../engine/index.js';
import { connectDocker, DockerExecutor, ExecutorChoice, ExecutorError } from '../executors/index.js';
import { DockerImageBuilder } from '../build/index.js';
import type { RegistryTarget } from '../engine/build-runner.js';
import { createTarget } from '../deploy/targets.js';
import type { DeployTarget } from '../deploy/index.js';
import { palette, PlainReporter, TreeReporter, type Reporter } from './progress.js';
import { RemoteClient } from './remote.js';
import { followRunLogs } from './logs.js';
import { localApprovalGate, terminalQuestion } from './local-approvals.js';
import { deployStateDir, openDeployDataDir } from './deploy-state.js';

const HELP = `usage: slipway run [options]

Runs the pipeline of this repository here, in containers of the local Docker engine, the way the
server runs it. The workspace is the pipeline file's folder as it is on disk (tracked and
untracked files git does not ignore).

options:
  -f, --file FILE        the pipeline file (default: slipway.yaml)
  -j, --job NAME         run only this job and the jobs it needs (repeatable)
  -a, --approve NAME     approve this manual job ahead (repeatable); on a terminal the run asks
                         when it gets to a manual job, elsewhere an unapproved one is skipped
  -s, --secret K=V       a secret's value (repeatable); also SLIPWAY_SECRET_<K> from the environment
  -e, --env K=V          set an environment variable for every step, over the file's (repeatable)
      --registry HOST    push built images to this registry (default: $SLIPWAY_REGISTRY, or the
                         host of $SLIPWAY_URL; none: images stay in the local engine)
      --concurrency N    jobs at once (default: the number of cores)
      --plain            plain timestamped lines even on a terminal
  -h, --help             this help

on the server of $SLIPWAY_URL (token: $SLIPWAY_TOKEN, with the run scope):
      --remote           start a run of the project there, of what was pushed to it, and follow
                         its logs; Ctrl-C cancels the run (again to stop following)
      --project NAME     the server's project (default: the pipeline file's name)
      --branch NAME      the branch to run (default: the branch checked out here)
      --commit SHA       the commit to run (default: the tip of the branch on the server)

exit codes: 0 the run passed, 1 it failed or was cancelled, 2 bad usage or an invalid pipeline file
`;

function parseAssignments(values: string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes KEY=VALUE, got '${value}'`);
    const key = value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`${flag}: '${key}' is not a valid variable name`);
    result[key] = value.slice(eq + 1);
  }
  return result;
}

/** Who approves at this terminal, for the job's log. */
function localUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? 'local user';
  }
}

function newRunId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The registry built images go to: --registry, SLIPWAY_REGISTRY, or the server's. */
function registryTarget(flag: string | undefined, env: NodeJS.ProcessEnv): RegistryTarget | undefined {
  let host = flag ?? env.SLIPWAY_REGISTRY;
  if (!host && env.SLIPWAY_URL) {
    try {
      host = new URL(env.SLIPWAY_URL).host;
    } catch {
      throw new UsageError(`SLIPWAY_URL '${env.SLIPWAY_URL}' is not a URL`);
    }
  }
  if (!host) return undefined;
  if (!/^[a-zA-Z0-9.-]+(:[0-9]+)?(\/[a-z0-9._/-]+)?$/.test(host)) throw new UsageError(`--registry '${host}' is not a registry host (HOST[:PORT])`);
  const password = env.SLIPWAY_REGISTRY_TOKEN ?? env.SLIPWAY_TOKEN;
  return {
    host,
    ...(password ? { credentials: { username: env.SLIPWAY_REGISTRY_USER ?? 'slipway', password, serveraddress: host } } : {}),
  };
}

/** One target of each kind per run, made when a deploy job first needs it. */
function deployTargets(dataDir: string): (name: 'docker' | 'kubernetes') => Promise<DeployTarget> {
  const made = new Map<string, Promise<DeployTarget>>();
  return (name) => {
    let target = made.get(name);
    if (!target) {
      target = createTarget(name, { dataDir });
      made.set(name, target);
    }
    return target;
  };
}

export const run: Command = async (argv: string[], io: CliIO): Promise<number> => {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        file: { type: 'string', short: 'f' },
        job: { type: 'string', short: 'j', multiple: true },
        approve: { type: 'string', short: 'a', multiple: true },
        secret: { type: 'string', short: 's', multiple: true },
        env: { type: 'string', short: 'e', multiple: true },
        concurrency: { type: 'string' },
        registry: { type: 'string' },
        plain: { type: 'boolean' },
        remote: { type: 'boolean' },
        project: { type: 'string' },
        branch: { type: 'string' },
        commit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const flags = parsed.values;
  if (flags.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (flags.remote) {
    // what the server runs is what was pushed to it, with the project's own secrets
    const local = (['job', 'approve', 'secret', 'env', 'registry', 'concurrency'] as const).filter((name) => flags[name] !== undefined);
    if (local.length > 0) throw new UsageError(`${local.map((n) => `--${n}`).join(', ')} cannot be used with --remote: the server runs the whole pipeline of the pushed commit, with the project's secrets`);
    return runRemotely(io, { file: flags.file, project: flags.project, branch: flags.branch, commit: flags.commit });
  }
  for (const name of ['project', 'branch', 'commit'] as const) {
    if (flags[name] !== undefined) throw new UsageError(`--${name} is for runs on a server: add --remote`);
  }
  const concurrency = flags.concurrency === undefined ? os.cpus().length : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency takes a whole number ≥ 1, got '${flags.concurrency}'`);
  const envOverrides = parseAssignments(flags.env ?? [], '--env');
  const givenSecrets = parseAssignments(flags.secret ?? [], '--secret');

  const file = path.resolve(io.cwd, flags.file ?? 'slipway.yaml');
  const loaded = await loadPipeline(file);
  const shownFile = path.relative(io.cwd, file) || file;
  for (const d of loaded.diagnostics) io.stderr.write(formatDiagnostic({ ...d, file: shownFile }) + '\n');
  const pipeline = loaded.pipeline;
  if (!pipeline) {
    io.stderr.write(`slipway run: ${shownFile} is not valid; nothing was run\n`);
    return EXIT_USAGE;
  }
  for (const [flag, names] of [['--job', flags.job], ['--approve', flags.approve]] as const) {
    for (const name of names ?? []) {
      // a matrix job's name in the file stands for all its combinations
      const job = pipeline.jobs.find((j) => j.name === name || j.matrix?.base === name);
      if (!job) throw new UsageError(`${flag} ${name}: there is no such job in ${shownFile} (jobs: ${pipeline.jobs.map((j) => j.name).join(', ')})`);
      if (flag === '--approve' && job.when !== 'manual') throw new UsageError(`--approve ${name}: ${name} does not wait for approval (it is not when: manual nor a deploy to a protected environment)`);
    }
  }

  const secrets: Record<string, string> = {};
  for (const name of pipeline.secrets) {
    const value = givenSecrets[name] ?? io.env[`SLIPWAY_SECRET_${name}`];
    if (value !== undefined) secrets[name] = value;
  }
  for (const [name, value] of Object.entries(givenSecrets)) secrets[name] = value;

  const isTTY = Boolean(io.stdout.isTTY) && !flags.plain && io.env.TERM !== 'dumb';
  const colors = palette(isTTY && io.env.NO_COLOR === undefined);
  const reporter: Reporter = isTTY ? new TreeReporter(io.stdout, colors) : new PlainReporter(io.stdout, colors);
  for (const name of pipeline.secrets) {
    if (secrets[name] === undefined) reporter.note(`secret ${name} has no value (give --secret ${name}=… or SLIPWAY_SECRET_${name}); steps see it unset`);
  }

  // only a pipeline that deploys opens the deploy state (moving it from its old place if need be)
  const deployDir = pipeline.jobs.some((j) => j.kind === 'deploy') ? await openDeployDataDir(undefined, io) : path.resolve(io.cwd, deployStateDir(io.env));
  const runId = newRunId();
  const storage = new RunStorage(slipwayHome(io.env), runId);
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts === 1) {
      reporter.note(`${signal}: cancelling the run and removing its containers (again to quit at once)`);
      controller.abort(new Error(`cancelled by ${signal}`));
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const docker = await connectDocker();
    const dockerExecutor = new DockerExecutor(docker);
    // jobs with runs-on: kubernetes run as Pods in the cluster of KUBECONFIG (or ~/.kube/config)
    const executor = new ExecutorChoice('docker', {
      docker: async () => dockerExecutor,
      kubernetes: async () => {
        const { KubernetesExecutor } = await import('../executors/kubernetes/index.js');
        const namespace = io.env.SLIPWAY_JOBS_NAMESPACE;
        const kubernetes = KubernetesExecutor.fromEnvironment({ ...(namespace ? { namespace } : {}), log: (line: string) => reporter.note(line) });
        const left = await kubernetes.reapOrphans();
        if (left.containers > 0) reporter.note(`removed ${left.containers} job Pods killed runs left behind`);
        return kubernetes;
      },
    });
    const registry = registryTarget(flags.registry, io.env);
    const reaped = await dockerExecutor.reapOrphans();
    const total = reaped.containers + reaped.networks + reaped.volumes;
    if (total > 0) {
      reporter.note(`removed what killed runs left behind: ${reaped.containers} containers, ${reaped.networks} networks, ${reaped.volumes} volumes`);
    }
    await storage.prepare();
    const source = await snapshotWorkspace(path.dirname(file), storage.sourceTarPath);
    const result = await executeRun({
      runId,
      pipeline,
      trigger: { event: 'local', branch: source.branch, commit: source.commit },
      source,
      executor,
      storage,
      secrets,
      envOverrides,
      ...(flags.job ? { only: flags.job } : {}),
      concurrency,
      builder: new DockerImageBuilder(docker),
      deployTargets: deployTargets(deployDir),
      ...(registry ? { registry } : {}),
      approvals: localApprovalGate({
        approved: new Set(pipeline.jobs.filter((j) => (flags.approve ?? []).some((name) => name === j.name || name === j.matrix?.base)).map((j) => j.name)),
        by: localUser(io.env),
        ...(io.stdin?.isTTY && isTTY
          ? {
              ask: async (question: string) => {
                reporter.hold?.(true);
                try {
                  return await terminalQuestion(io.stdin!, io.stdout, controller.signal, () => onSignal('SIGINT'))(question);
                } finally {
                  reporter.hold?.(false);
                }
              },
            }
          : {}),
      }),
      signal: controller.signal,
      onEvent: (event) => reporter.onEvent(event),
    });
    reporter.finish(result);
    return result.status === 'success' ? EXIT_OK : EXIT_FAILED;
  } catch (err) {
    if (err instanceof WorkspaceError) {
      io.stderr.write(`slipway run: ${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ExecutorError) {
      io.stderr.write(`slipway run: ${err.message}\n`);
      return EXIT_FAILED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await storage.cleanup();
  }
};

async function gitOutput(cwd: string, args: string[]): Promise<string | undefined> {
  return (await gitMaybe(args, { cwd, isolated: false }))?.trim() || undefined;
}

/**
 * `slipway run --remote`: a manual run of the project on the server, followed like `slipway logs
 * -f`. The first Ctrl-C cancels it on the server and keeps following until it has stopped.
 */
async function runRemotely(io: CliIO, ask: { file?: string | undefined; project?: string | undefined; branch?: string | undefined; commit?: string | undefined }): Promise<number> {
  const client = RemoteClient.fromEnv(io, 'run');
  const file = path.resolve(io.cwd, ask.file ?? 'slipway.yaml');
  let project = ask.project;
  if (project === undefined) {
    const loaded = await loadPipeline(file).catch(() => undefined);
    project = loaded?.pipeline?.name;
    if (project === undefined) throw new UsageError(`--project NAME is needed: ${path.relative(io.cwd, file) || file} does not give the project's name`);
  }
  const folder = path.dirname(file);
  let branch = ask.branch;
  if (branch === undefined && ask.commit === undefined) {
    const checkedOut = await gitOutput(folder, ['rev-parse', '--abbrev-ref', 'HEAD']);
    if (checkedOut && checkedOut !== 'HEAD') branch = checkedOut;
  }
  const run = await client.call('startRun', {
    params: { name: project },
    body: { ...(branch !== undefined ? { branch } : {}), ...(ask.commit !== undefined ? { commit: ask.commit } : {}) },
  });
  io.stderr.write(`run ${run.id} (#${run.number}) of ${project} on ${client.url}: ${run.trigger.branch || 'detached'}@${run.trigger.commit.slice(0, 7)}\n`);
  const here = ask.commit === undefined ? await gitOutput(folder, ['rev-parse', 'HEAD']) : undefined;
  if (here && here !== run.trigger.commit) io.stderr.write(`note: this checkout is at ${here.slice(0, 7)}; the server runs what was pushed (git push first to run local commits)\n`);

  return client.cancelOnInterrupt(`run ${run.id}`, () => client.call('cancelRun', { params: { id: run.id } }), () => followRunLogs(client, run.id, io));
}
