// Executors: where a job's steps run. Docker is the default; Kubernetes runs each job in a Pod.
export * from './types.js';
export { DockerExecutor } from './docker/executor.js';
export { connectDocker } from './docker/client.js';
export { KubernetesExecutor, type KubernetesExecutorOptions } from './kubernetes/index.js';
