// The engine: Pipeline + Trigger → Run. Public face for the CLI and the server.
export { executeRun, selectJobs, builtinEnv, type RunOptions, type RunResult, type JobSummary, type ResumedJob, type Trigger } from './run.js';
export type { RunEvent, RunEventListener, JobStatus, RunStatus, JobPlanView } from './events.js';
export { skipReasonOf, formatWait, type ApprovalGate, type ApprovalDecision, type WaitingJob } from './approvals.js';
export { snapshotWorkspace, isGitWorkTree, WorkspaceError, type SourceSnapshot } from './workspace.js';
export { RunStorage, runsRoot, slipwayHome } from './storage.js';
export { SecretMasker, secretPatterns, secretsTooShortToMask, shortSecretsWarning, MASK } from './secrets.js';
export { formatMs, type WorkspaceCheckout } from './job-runner.js';
export type { PullRequestInfo, Untrusted } from './pull-requests.js';
