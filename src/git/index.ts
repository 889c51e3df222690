// git, run safely: the command runner, the checks on URLs and refs from outside, and history reads.
export { git, gitMaybe, gitEnvironment, GitCommandError, REMOTE_PROTOCOLS, type GitOptions, type GitProtocol } from './command.js';
export { fetchFromRemote, isPullRequestRef, isSafeBranchName, isSafeRef, remoteHost, remoteUrlProblem } from './remote.js';
export { commitsBetween, hasCommit, isCommitId, type CommitSummary } from './log.js';
