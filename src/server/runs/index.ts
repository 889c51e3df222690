// The server's runs: the queue worker that claims and executes them, what the store keeps of a
// run's pipeline, the hub SSE streams and metrics listen to, and the record of rollouts.
export { Runner, type RunnerOptions } from './queue-worker.js';
export { RunHub, type StepObservation } from './hub.js';
export { pipelineSnapshotOf, type PipelineSnapshot } from './pipeline-snapshot.js';
export { recordRollout } from './rollouts.js';
export { sweepRunFolders, KEPT_ARTIFACTS_MS } from './run-folders.js';
