// One attempt of a steps job: a sandbox from the executor, the workspace unpacked into it, the
// artifacts of the jobs it needs and its cache restored, its steps run in order, then its cache
// and artifacts saved on success, and the sandbox removed whatever happened.
import { Writable } from 'node:stream';
import type { ExpressionContext, Pipeline, StepsJob } from '../spec/model.js';
import { renderTemplate } from '../spec/index.js';
import { ExecutorError, type Executor, type Sandbox } from '../executors/index.js';
import type { RunEvent } from './events.js';
import { LineSplitter } from './lines.js';
import { attemptDeadline } from './deadline.js';
import { SecretMasker, secretPatterns } from './secrets.js';
import { cacheKey, normalizeWorkspacePath, parentOf, type RunStorage } from './storage.js';
import type { SourceSnapshot } from './workspace.js';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';

export interface JobAttemptInput {
  job: StepsJob;
  attempt: number;
  runId: string;
  pipeline: Pipeline;
  context: ExpressionContext;
  pipelineEnv: Record<string, string>;
  envOverrides: Record<string, string>;
  secrets: Record<string, string>;
  source: SourceSnapshot;
  executor: Executor;
  /** a checkout of the run's commit the sandbox may fetch itself (the server's, for Pods) */
  checkout?: WorkspaceCheckout;
  storage: RunStorage;
  signal: AbortSignal;
  emit: (event: RunEvent) => void | Promise<void>;
}

export interface WorkspaceCheckout {
  url: string;
  token: string;
}

export interface JobAttemptResult {
  status: 'success' | 'failure' | 'cancelled';
  reason?: string;
  /** what later jobs read as `jobs.<name>.<output>` */
  outputs?: Record<string, string>;
}

export async function runStepsJob(input: JobAttemptInput): Promise<JobAttemptResult> {
  const { job, attempt, emit } = input;
  const deadline = attemptDeadline(input.signal, job.timeoutMs);
  const system = (line: string): void => void emit({ type: 'log', job: job.name, stream: 'system', line, at: Date.now() });
  const patterns = secretPatterns(Object.values(input.secrets));

  let sandbox: Sandbox | undefined;
  try {
    const env = jobEnv(input);
    const context: ExpressionContext = { ...input.context, env };
    sandbox = await input.executor.createSandbox(
      {
        runId: input.runId,
        jobName: job.name,
        attempt,
        image: renderTemplate(job.image, context),
        env,
        services: job.services.map((s) => ({
          name: s.name,
          image: renderTemplate(s.image, context),
          env: renderEnv(s.env, context),
          ...(s.command ? { command: s.command } : {}),
          ...(s.health ? { health: s.health } : {}),
        })),
        secrets: input.secrets,
        ...(job.runsOn ? { runsOn: job.runsOn } : {}),
        ...(job.resources ? { resources: job.resources } : {}),
        ...(input.checkout ? { checkout: input.checkout } : {}),
      },
      { info: system },
      deadline.signal,
    );
    if (!sandbox.hasWorkspace) await sandbox.putArchive(createReadStream(input.source.tarPath), '.');
    await restoreArtifacts(input, sandbox, system);
    const cache = job.cache ? await restoreCache(input, sandbox, system) : undefined;

    for (const [index, step] of job.steps.entries()) {
      const stepEnv = { ...renderEnv(step.env, context), ...input.envOverrides, ...input.secrets };
      const script = renderTemplate(step.run, context);
      const started = Date.now();
      emit({ type: 'step.started', job: job.name, step: index, name: step.name, attempt, at: started });
      const output = {
        stdout: logStream(patterns, (line) => emit({ type: 'log', job: job.name, step: index, stream: 'stdout', line, at: Date.now() })),
        stderr: logStream(patterns, (line) => emit({ type: 'log', job: job.name, step: index, stream: 'stderr', line, at: Date.now() })),
      };
      let exitCode: number;
      try {
        exitCode = await sandbox.exec(script, stepEnv, output, deadline.signal);
      } finally {
        await Promise.all([endStream(output.stdout), endStream(output.stderr)]);
      }
      emit({ type: 'step.finished', job: job.name, step: index, name: step.name, attempt, exitCode, durationMs: Date.now() - started, at: Date.now() });
      if (exitCode !== 0) return { status: 'failure', reason: `step '${step.name}' exited with code ${exitCode}` };
    }

    if (cache) await saveCache(input, sandbox, cache, system);
    await saveArtifacts(input, sandbox, system);
    return { status: 'success' };
  } catch (err) {
    if (deadline.signal.aborted) {
      if (deadline.isTimedOut()) return { status: 'failure', reason: `timed out after ${formatMs(job.timeoutMs)}` };
      return { status: 'cancelled', reason: 'the run was cancelled' };
    }
    if (err instanceof ExecutorError) return { status: 'failure', reason: err.message };
    return { status: 'failure', reason: `internal error: ${(err as Error).message}` };
  } finally {
    deadline.dispose();
    if (sandbox) await sandbox.destroy();
  }
}

function renderEnv(env: StepsJob['env'], context: ExpressionContext): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, t]) => [k, renderTemplate(t, context)]));
}

/** Builtins < pipeline env < job env < --env. */
function jobEnv(input: JobAttemptInput): Record<string, string> {
  const context = { ...input.context, env: input.pipelineEnv };
  return { ...input.pipelineEnv, ...renderEnv(input.job.env, context), ...input.envOverrides };
}

/** A writable that masks secrets and turns bytes into log-line events, with backpressure. */
function logStream(patterns: Buffer[], onLine: (line: string) => void | Promise<void>): Writable {
  const masker = new SecretMasker(patterns);
  const lines = new LineSplitter(onLine);
  masker.pipe(lines);
  const finished = new Promise<void>((resolve, reject) => {
    lines.on('finish', resolve);
    lines.on('error', reject);
  });
  (masker as Writable & { done?: Promise<void> }).done = finished;
  return masker;
}

function endStream(stream: Writable): Promise<void> {
  stream.end();
  return (stream as Writable & { done?: Promise<void> }).done ?? Promise.resolve();
}

async function restoreArtifacts(input: JobAttemptInput, sandbox: Sandbox, system: (line: string) => void): Promise<void> {
  const byName = new Map(input.pipeline.jobs.map((j) => [j.name, j]));
  for (const need of input.job.needs) {
    const producer = byName.get(need);
    if (!producer || producer.kind !== 'steps') continue;
    for (const [index, artifact] of producer.artifacts.entries()) {
      const tar = await input.storage.open(input.storage.artifactPath(need, index));
      if (!tar) continue;
      await sandbox.putArchive(tar, parentOf(artifact));
      system(`restored artifact ${normalizeWorkspacePath(artifact)} from ${need}`);
    }
  }
}

interface CacheEntry {
  key: string;
  dir: string;
  isHit: boolean;
}

async function restoreCache(input: JobAttemptInput, sandbox: Sandbox, system: (line: string) => void): Promise<CacheEntry | undefined> {
  const cache = input.job.cache;
  if (!cache) return undefined;
  const key = await cacheKey(input.source.dir, input.job.name, cache.keyFiles, cache.paths);
  const dir = input.storage.cacheDir(input.pipeline.name, input.job.name, key);
  const present = await readdir(dir).catch(() => [] as string[]);
  if (present.length === 0) {
    system(`cache miss (key ${key.slice(0, 12)})`);
    return { key, dir, isHit: false };
  }
  for (const [index, cachePath] of cache.paths.entries()) {
    const tar = await input.storage.open(`${dir}/${index}.tar`);
    if (tar) await sandbox.putArchive(tar, parentOf(cachePath));
  }
  system(`cache hit (key ${key.slice(0, 12)}): restored ${cache.paths.join(', ')}`);
  return { key, dir, isHit: true };
}

async function saveCache(input: JobAttemptInput, sandbox: Sandbox, entry: CacheEntry, system: (line: string) => void): Promise<void> {
  const cache = input.job.cache;
  if (!cache || entry.isHit) return;
  let bytes = 0;
  for (const [index, cachePath] of cache.paths.entries()) {
    const tar = await sandbox.getArchive(normalizeWorkspacePath(cachePath));
    if (!tar) {
      system(`cache path ${cachePath} does not exist after the steps; not cached`);
      continue;
    }
    bytes += await input.storage.save(tar, `${entry.dir}/${index}.tar`);
  }
  system(`cache saved (key ${entry.key.slice(0, 12)}, ${formatBytes(bytes)})`);
}

async function saveArtifacts(input: JobAttemptInput, sandbox: Sandbox, system: (line: string) => void): Promise<void> {
  for (const [index, artifact] of input.job.artifacts.entries()) {
    const tar = await sandbox.getArchive(normalizeWorkspacePath(artifact));
    if (!tar) {
      system(`artifact ${artifact} does not exist after the steps`);
      continue;
    }
    const bytes = await input.storage.save(tar, input.storage.artifactPath(input.job.name, index));
    system(`artifact ${normalizeWorkspacePath(artifact)} saved (${formatBytes(bytes)})`);
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
