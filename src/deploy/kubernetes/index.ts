// The `kubernetes` deploy target: server-side apply, rollout status and undo with kubectl's semantics.
export { createKubernetesTarget, KubernetesDeployTarget, type KubernetesTargetOptions, type KubernetesDeployRequest } from './target.js';
export { generateManifests, loadManifests, substituteImage, orderForApply, workloadName, repositoryOf } from './manifests.js';
export { rolloutStatus, progressLine, type RolloutStatus } from './rollout-status.js';
export { loadKubeConfig } from './client.js';
