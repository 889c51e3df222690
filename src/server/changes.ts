// What changed, for the web UI's live lists: one Server-Sent Events stream per browser tab
// (GET /api/events) says "a run changed" or "an environment changed", and the page reads its list
// again. The feed is fed by the store itself — every write that moves a run, a job or a revision
// goes through it — so no caller can forget to tell it; rollouts and the registry's tags tell it
// from where they happen.
import { EventEmitter } from 'node:events';
import type { Store } from '../store/types.js';

export type Change = { kind: 'run'; id: string } | { kind: 'environment'; app: string; environment: string } | { kind: 'registry'; repository: string };

/** This process's changes; with several replicas each tells what its own writes changed. */
export class ChangeFeed {
  private readonly emitter = new EventEmitter();

  constructor() {
    // one listener per open browser tab
    this.emitter.setMaxListeners(0);
  }

  publish(change: Change): void {
    this.emitter.emit('change', change);
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}

type RunWrites = {
  [K in keyof Store]?: (args: unknown[], result: unknown) => Change[];
};

const runOf = (run: unknown): Change[] => (run && typeof run === 'object' && 'id' in run ? [{ kind: 'run', id: String(run.id) }] : []);
const runArg = (args: unknown[]): Change[] => (typeof args[0] === 'string' ? [{ kind: 'run', id: args[0] }] : []);
const jobUpdate = (args: unknown[]): Change[] => {
  const update = args[0] as { runId?: unknown } | undefined;
  return typeof update?.runId === 'string' ? [{ kind: 'run', id: update.runId }] : [];
};

/** The store's writes that change what a list shows, and what each changed (from its arguments or answer). */
const WRITES: RunWrites = {
  enqueueRun: (_args, run) => runOf(run),
  claimNextRun: (_args, run) => runOf(run),
  updateRunStatus: runArg,
  requeueRun: runArg,
  rerun: (_args, run) => runOf(run),
  decideJob: runArg,
  parkRun: runArg,
  markInterrupted: (_args, runs) => (Array.isArray(runs) ? runs.flatMap(runOf) : []),
  expireApprovals: (_args, count) => (typeof count === 'number' && count > 0 ? [{ kind: 'run', id: '*' }] : []),
  upsertJob: jobUpdate,
  upsertStep: jobUpdate,
  claimScheduleTick: (_args, run) => runOf(run),
  acceptDelivery: (_args, accepted) => {
    const runs = (accepted as { runs?: unknown[] } | undefined)?.runs;
    return Array.isArray(runs) ? runs.flatMap(runOf) : [];
  },
  recordRevision: (args) => {
    const revision = args[0] as { app?: unknown; environment?: unknown } | undefined;
    return typeof revision?.app === 'string' && typeof revision.environment === 'string' ? [{ kind: 'environment', app: revision.app, environment: revision.environment }] : [];
  },
};

/** The store, telling `feed` of each write in WRITES once it is stored (a transaction's once it commits). */
export function observeChanges(store: Store, feed: ChangeFeed): Store {
  return recording(store, (change) => feed.publish(change));
}

function recording<T extends object>(store: T, tell: (change: Change) => void): T {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'transaction') {
        return async (fn: (tx: object) => Promise<unknown>) => {
          const pending: Change[] = [];
          const result: unknown = await (value as (f: (tx: object) => Promise<unknown>) => Promise<unknown>).call(target, (tx) => fn(recording(tx, (c) => pending.push(c))));
          pending.forEach(tell);
          return result;
        };
      }
      const changesOf = WRITES[property as keyof Store];
      if (!changesOf) return value;
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        changesOf(args, result).forEach(tell);
        return result;
      };
    },
  });
}
