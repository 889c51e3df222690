// One attempt of a build job: the build context from the workspace snapshot, an image built with
// OCI labels and tagged `<repository>:<commit>` plus the job's tags, then pushed to the registry
// when one is configured. Its outputs (`image`, `digest`, `tags`) name the exact image.
import type { BuildJob, ExpressionContext } from '../spec/model.js';
import { renderTemplate } from '../spec/index.js';
import { buildContext, BuildContextError, BuildError, type ImageBuilder, type RegistryCredentials } from '../build/index.js';
import type { RunEvent } from './events.js';
import type { SourceSnapshot } from './workspace.js';
import { formatMs, type JobAttemptResult } from './job-runner.js';
import { attemptDeadline } from './deadline.js';

export interface RegistryTarget {
  /** host[:port] that image references start with */
  host: string;
  credentials?: RegistryCredentials;
}

export interface BuildAttemptInput {
  job: BuildJob;
  attempt: number;
  context: ExpressionContext;
  source: SourceSnapshot;
  builder: ImageBuilder;
  registry?: RegistryTarget;
  /** why this run pushes nothing (a fork's pull request): the image is built and stays on this host */
  pushOff?: string;
  /** values of the pipeline's secrets: a `push.passwordSecret` is read from here */
  secrets: Record<string, string>;
  signal: AbortSignal;
  emit: (event: RunEvent) => void | Promise<void>;
}

export function buildStepNames(registry: RegistryTarget | undefined, job: BuildJob, pushOff?: string): string[] {
  return (registry || job.build.push) && !pushOff ? ['build image', 'push image'] : ['build image'];
}

/** Where this job pushes: its own `push:` registry (credentials from a secret), else the run's. */
function pushTarget(job: BuildJob, runRegistry: RegistryTarget | undefined, secrets: Record<string, string>): RegistryTarget | undefined {
  const push = job.build.push;
  if (!push) return runRegistry;
  const password = push.passwordSecret ? secrets[push.passwordSecret] : undefined;
  const server = push.registry.split('/')[0] ?? push.registry;
  return { host: push.registry, ...(password !== undefined ? { credentials: { username: push.username, password, serveraddress: server } } : {}) };
}

export async function runBuildJob(input: BuildAttemptInput): Promise<JobAttemptResult> {
  const { job, attempt, emit, context } = input;
  const spec = job.build;
  const registry = input.pushOff ? undefined : pushTarget(job, input.registry, input.secrets);
  if (registry && spec.push?.passwordSecret && input.secrets[spec.push.passwordSecret] === undefined) {
    return { status: 'failure', reason: `secret ${spec.push.passwordSecret} (the password for ${spec.push.registry}) has no value; give it with --secret or set it on the server` };
  }
  const repository = registry ? `${registry.host}/${spec.repository}` : spec.repository;
  // an untrusted build keeps off the tags trusted runs share (latest, …) on this host: its commit names it
  const tags = input.pushOff ? [context.commit] : [context.commit, ...spec.tags];
  const badTag = tags.find((t) => !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t));
  if (badTag !== undefined) return { status: 'failure', reason: `'${badTag}' is not a valid image tag (letters, digits, _ . -; at most 128)` };
  const references = [...new Set(tags)].map((tag) => `${repository}:${tag}`);
  const log = (step: number) => (line: string) => void emit({ type: 'log', job: job.name, step, stream: 'stdout', line, at: Date.now() });
  const deadline = attemptDeadline(input.signal, job.timeoutMs);
  const signal = deadline.signal;

  const step = async <T>(index: number, name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    void emit({ type: 'step.started', job: job.name, step: index, name, attempt, at: started });
    try {
      const value = await work();
      void emit({ type: 'step.finished', job: job.name, step: index, name, attempt, exitCode: 0, durationMs: Date.now() - started, at: Date.now() });
      return value;
    } catch (err) {
      void emit({ type: 'step.finished', job: job.name, step: index, name, attempt, exitCode: 1, durationMs: Date.now() - started, at: Date.now() });
      throw err;
    }
  };

  try {
    const imageId = await step(0, 'build image', async () => {
      const contextStream = await buildContext(input.source.tarPath, spec.context, spec.dockerfile);
      const args = Object.fromEntries(Object.entries(spec.args).map(([k, t]) => [k, renderTemplate(t, context)]));
      return input.builder.build(
        {
          context: contextStream,
          dockerfile: spec.dockerfile,
          tags: references,
          args,
          labels: {
            'org.opencontainers.image.revision': context.commit,
            'org.opencontainers.image.source': input.source.remoteUrl ?? `slipway:${context.env.SLIPWAY_PROJECT ?? ''}`,
            'org.opencontainers.image.created': new Date().toISOString(),
            'org.opencontainers.image.title': spec.repository,
          },
          ...(spec.target ? { target: spec.target } : {}),
        },
        log(0),
        signal,
      );
    });
    log(0)(`built ${imageId} as ${references.join(', ')}`);
    if (input.pushOff) log(0)(`not pushed, and tagged only with its commit: ${input.pushOff}`);
    if (!registry) {
      return { status: 'success', outputs: { image: imageId, digest: imageId, tags: tags.join(',') } };
    }
    const digest = await step(1, 'push image', async () => {
      let pushed = '';
      for (const reference of references) pushed = await input.builder.push(reference, registry.credentials, log(1), signal);
      return pushed;
    });
    log(1)(`pushed ${repository}@${digest}`);
    return { status: 'success', outputs: { image: `${repository}@${digest}`, digest, tags: tags.join(',') } };
  } catch (err) {
    if (signal.aborted) {
      return deadline.isTimedOut()
        ? { status: 'failure', reason: `timed out after ${formatMs(job.timeoutMs)}` }
        : { status: 'cancelled', reason: 'the run was cancelled' };
    }
    if (err instanceof BuildError || err instanceof BuildContextError) return { status: 'failure', reason: err.message };
    return { status: 'failure', reason: `image build failed: ${(err as Error).message}` };
  } finally {
    deadline.dispose();
  }
}
