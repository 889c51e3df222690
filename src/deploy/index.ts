// Rollouts: the shared vocabulary and revision history; targets live in docker/ and kubernetes/.
export * from './types.js';
export { RevisionStore, checkName } from './revisions.js';
