// The in-process half of the fuzz, in a worker thread so that a file the front end hangs on (a
// catastrophic regex, a quadratic walk) can be stopped from outside: the worker says which file it
// starts before each one, and the test ends it when one takes too long.
import { parentPort, workerData } from 'node:worker_threads';
import { evaluateCondition, isBranchTriggered, parsePipeline, renderTemplate, type ExpressionContext, type Pipeline } from '../../src/spec/index.js';
import { mutatedFile, prng, seedFiles } from './mutate.js';

export interface FuzzJob {
  seed: number;
  count: number;
  repoRoot: string;
  /** a file slower than this fails the fuzz, though it finished */
  slowMs: number;
}

export type FuzzMessage =
  | { type: 'start'; index: number }
  | { type: 'problem'; index: number; problem: string; text: string }
  | { type: 'done'; files: number; slowestMs: number; valid: number };

const CONTEXT: ExpressionContext = { branch: 'main', event: 'push', commit: 'abc', env: { X: '1' }, jobs: {} };

/** What is wrong with the result for one file (undefined when it is as it must be), and whether it was valid. */
function check(text: string): { problem: string | undefined; valid: boolean } {
  let result;
  try {
    result = parsePipeline(text, 'fuzz.yaml');
  } catch (err) {
    return { problem: `parsePipeline threw: ${err instanceof Error ? err.stack : String(err)}`, valid: false };
  }
  for (const d of result.diagnostics) {
    const problem =
      !(d.line >= 1 && d.col >= 1) ? `${d.code} has no position (${d.line}:${d.col}): ${d.message}`
      : typeof d.message !== 'string' || d.message.length === 0 ? `${d.code} has no message`
      : /\n\s+at |Maximum call stack/.test(d.message) ? `${d.code} carries a stack trace: ${d.message}`
      : d.code === 'SPEC_INTERNAL' ? `the front end failed inside: ${d.message}`
      : undefined;
    if (problem) return { problem, valid: false };
  }
  const hasError = result.diagnostics.some((d) => d.severity === 'error');
  if ((result.pipeline === undefined) !== hasError) return { problem: 'a pipeline came back with errors, or none without', valid: false };
  return { problem: result.pipeline ? problemRunning(result.pipeline) : undefined, valid: result.pipeline !== undefined };
}

/** A valid file's templates, conditions and triggers are used the way the engine uses them. */
function problemRunning(pipeline: Pipeline): string | undefined {
  try {
    isBranchTriggered(pipeline, 'main');
    for (const template of Object.values(pipeline.env)) renderTemplate(template, CONTEXT);
    for (const job of pipeline.jobs) {
      if (job.if) evaluateCondition(job.if, CONTEXT);
      for (const template of Object.values(job.env)) renderTemplate(template, CONTEXT);
      if (job.kind === 'steps') for (const step of job.steps) renderTemplate(step.run, CONTEXT);
    }
  } catch (err) {
    return `using the valid pipeline threw: ${err instanceof Error ? err.stack : String(err)}`;
  }
  return undefined;
}

function run({ seed, count, repoRoot, slowMs }: FuzzJob): void {
  const random = prng(seed);
  const pool = seedFiles(repoRoot);
  let slowestMs = 0;
  let valid = 0;
  for (let index = 0; index < count; index++) {
    const text = mutatedFile(random, pool);
    parentPort?.postMessage({ type: 'start', index } satisfies FuzzMessage);
    const started = performance.now();
    const { problem, valid: isValid } = check(text);
    const elapsedMs = performance.now() - started;
    slowestMs = Math.max(slowestMs, elapsedMs);
    if (isValid) valid++;
    const slow = elapsedMs > slowMs ? `took ${Math.round(elapsedMs)} ms (the limit is ${slowMs} ms)` : undefined;
    if (problem ?? slow) parentPort?.postMessage({ type: 'problem', index, problem: (problem ?? slow)!, text } satisfies FuzzMessage);
  }
  parentPort?.postMessage({ type: 'done', files: count, slowestMs, valid } satisfies FuzzMessage);
}

run(workerData as FuzzJob);
