// Executors: where a job's steps run. Docker is the default; Kubernetes comes later.
export * from './types.js';
export { DockerExecutor } from './docker/executor.js';
export { connectDocker } from './docker/client.js';
export { ExecutorChoice, type ExecutorFactory } from './choice.js';
