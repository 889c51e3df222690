// What went wrong talking to the API server, as an ExecutorError whose message says what Slipway
// was doing; and the small helpers every caller needs (status codes, ignoring 404).
import { apiStatusOf, networkCode } from '../../deploy/kubernetes/client.js';
import { ExecutorError } from '../types.js';

export function statusCode(err: unknown): number | undefined {
  return apiStatusOf(err)?.code;
}

/** `doing` completes "while trying to …" ("create Pod x in namespace y"). */
export function toExecutorError(err: unknown, server: string, doing: string): ExecutorError {
  if (err instanceof ExecutorError) return err;
  const status = apiStatusOf(err);
  if (!status) {
    const why = networkCode(err) ?? (err instanceof Error ? err.message : String(err));
    return new ExecutorError(
      'EXECUTOR_ENGINE_UNREACHABLE',
      `cannot reach the Kubernetes API at ${server} (${why}) while trying to ${doing}: is the cluster running and the kubeconfig's server address right?`,
    );
  }
  const message = status.message ?? `HTTP ${status.code}`;
  if (status.code === 401) {
    return new ExecutorError('EXECUTOR_FAILED', `the cluster at ${server} rejected Slipway's credentials (401) while trying to ${doing}`);
  }
  if (status.code === 403) {
    return new ExecutorError('EXECUTOR_FAILED', `forbidden: ${message} (while trying to ${doing}); the executor needs pods, pods/exec, pods/log and secrets in its namespace`);
  }
  return new ExecutorError('EXECUTOR_FAILED', `the Kubernetes API at ${server} answered ${status.code}: ${message} (while trying to ${doing})`);
}

/** Runs `call`; a 404 (already gone) counts as done. Whether it found something to act on. */
export async function unlessNotFound(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (statusCode(err) === 404) return false;
    throw err;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
