// Manual jobs under `slipway run`: the person at the terminal decides when the run gets to them
// ("run deploy-production? [y/N]"); `--approve JOB` decides ahead (scripts, no terminal); with
// neither, a manual job is skipped with how to run it.
import { createInterface } from 'node:readline';
import type { ApprovalDecision, ApprovalGate, WaitingJob } from '../engine/index.js';

export interface LocalApprovalOptions {
  /** the jobs `--approve` names */
  approved: ReadonlySet<string>;
  /** who approves here, for the job's log */
  by: string;
  /** asks a yes/no question on the terminal; absent without one */
  ask?: (question: string) => Promise<boolean>;
}

export function localApprovalGate(options: LocalApprovalOptions): ApprovalGate {
  const answers = new Map<string, ApprovalDecision>();
  return {
    async decision(job) {
      if (options.approved.has(job.name)) return { kind: 'approved', by: `${options.by} (--approve)`, atMs: Date.now() };
      return answers.get(job.name);
    },
    // nothing but this process decides here, and it does so in park()
    changed: (signal) => new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }))),
    async park(waiting) {
      for (const job of waiting) answers.set(job.name, await decideHere(job, options));
      return false;
    },
  };
}

async function decideHere(job: WaitingJob, options: LocalApprovalOptions): Promise<ApprovalDecision> {
  if (!options.ask) return { kind: 'skip', reason: `waits for approval (when: manual); no terminal here to ask on: run it with --approve ${job.name}` };
  const where = job.environment ? ` (deploys to ${job.environment})` : '';
  const yes = await options.ask(`run ${job.name}${where}? [y/N] `);
  return yes ? { kind: 'approved', by: options.by, atMs: Date.now() } : { kind: 'rejected', by: options.by, atMs: Date.now(), reason: 'answered no at the prompt' };
}

/** A [y/N] question on the terminal; Ctrl-C or an abort answer no (the run's own Ctrl-C handling cancels it). */
export function terminalQuestion(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, signal: AbortSignal, onInterrupt: () => void): (question: string) => Promise<boolean> {
  return (question) =>
    new Promise<boolean>((resolve) => {
      const rl = createInterface({ input, output, terminal: true });
      const done = (answer: boolean): void => {
        signal.removeEventListener('abort', abort);
        rl.close();
        resolve(answer);
      };
      const abort = (): void => done(false);
      signal.addEventListener('abort', abort, { once: true });
      rl.on('SIGINT', () => {
        output.write('\n');
        onInterrupt();
        done(false);
      });
      rl.question(question, (answer) => done(/^y(es)?$/i.test(answer.trim())));
    });
}
