// Executors: where a job's steps run. Docker is the default; Kubernetes runs each job in a Pod.
// The kubernetes executor is imported where it is made (./kubernetes/index.js), so a process that
// runs docker jobs only never loads the Kubernetes client.
export * from './types.js';
export { DockerExecutor } from './docker/executor.js';
export { connectDocker } from './docker/client.js';
export { ExecutorChoice, type ExecutorFactory } from './choice.js';
