// The Kubernetes executor: one Pod per job attempt (see executor.ts).
export { KubernetesExecutor, DEFAULT_HELPER_IMAGE, DEFAULT_NAMESPACE, type KubernetesExecutorOptions } from './executor.js';
