// Rollouts: the shared vocabulary and revision history; targets live in docker/ and kubernetes/.
export * from './types.js';
export { RevisionStore, checkName, isValidName } from './revisions.js';
export { describeUnchanged, isSameRelease, pinnedDigest, rollbackTarget, unchangedOutcome, type Release } from './changes.js';
export { checkPromotionNames, planPromotion, type Promotion, type PromotionRequest } from './promote.js';
export { DEFAULT_DEPLOY_SPEC, deployRequestBody, parseDeployRequestBody, type DeployRequestBody } from './request-body.js';
export { environmentStatuses, type TargetFactory } from './status.js';
export { readScaleEvents, type ScaleEvent, type ScaleOutcome, type ScaleRequest } from './scale-events.js';
export { MAX_REPLICAS, scaleProblem } from './autoscale.js';
