// git, run safely: the command runner and the checks on URLs and refs from outside.
export { git, gitMaybe, gitEnvironment, GitCommandError, REMOTE_PROTOCOLS, type GitOptions, type GitProtocol } from './command.js';
export { fetchFromRemote, isSafeRef, remoteHost, remoteUrlProblem } from './remote.js';
