// A webhook run is accepted before its commit is here: this fetches the commit into the project's
// repository (a pull request's from the base repository's pull request ref) and reads the pipeline
// file there, ending the run when that cannot be done or the file does not ask for it.
import { parsePipeline, isBranchTriggered, isPullRequestTriggered, isTagTriggered, pathsAllow } from '../../spec/index.js';
import { filesChangedByPullRequest, filesChangedByPush } from '../changed-files.js';
import { fetchFromRemote, hasCommit } from '../../git/index.js';
import type { Run, Store } from '../../store/types.js';
import { readFileAtCommit } from '../workspace.js';
import type { PipelineSnapshot } from './pipeline-snapshot.js';

/**
 * A webhook run: fetches its commit from the remote into the project's repository, then applies
 * the `on.push` filter (a pull request run: `on.pull_request`, on its base branch) of the file
 * found there. Returns the file, or undefined when the run ended.
 */
export async function fetchWebhookPipeline(store: Store, repo: string, run: Run, snapshot: PipelineSnapshot): Promise<string | undefined> {
  const commit = run.trigger.commit;
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) {
    await store.updateRunStatus(run.id, 'failure', { reason: `'${commit.slice(0, 80)}' is not a commit id` });
    return undefined;
  }
  if (!(await hasCommit(repo, commit))) {
    if (!snapshot.remote) {
      await store.updateRunStatus(run.id, 'failure', { reason: `commit ${commit} is not in the project's repository and the webhook named no clone URL` });
      return undefined;
    }
    try {
      // the URL and ref were checked when the delivery was accepted; fetchFromRemote checks again
      await fetchFromRemote(repo, snapshot.remote, snapshot.ref ?? commit);
    } catch (err) {
      await store.updateRunStatus(run.id, 'failure', { reason: `fetching ${snapshot.ref ?? commit} from ${snapshot.remote} failed: ${(err as Error).message.trim().slice(-500)}` });
      return undefined;
    }
    // a ref moves: by now it may point past the commit (or, force-pushed, away from it)
    if (!(await hasCommit(repo, commit))) {
      await store.updateRunStatus(run.id, 'failure', { reason: `commit ${commit} is not in ${snapshot.ref ?? 'what was fetched'} of ${snapshot.remote} any more (force-pushed?)` });
      return undefined;
    }
  }
  const text = await readFileAtCommit(repo, commit, snapshot.file);
  if (text === undefined) {
    await store.updateRunStatus(run.id, 'failure', { reason: `there is no ${snapshot.file} at ${commit.slice(0, 7)}` });
    return undefined;
  }
  const loaded = parsePipeline(text, snapshot.file);
  const pullRequest = run.trigger.event === 'pull_request' ? run.trigger.pullRequest : undefined;
  if (pullRequest) {
    if (loaded.pipeline && !isPullRequestTriggered(loaded.pipeline, pullRequest.base)) {
      await store.updateRunStatus(run.id, 'cancelled', { reason: `on.pull_request does not ask for pull requests into ${pullRequest.base}` });
      return undefined;
    }
    // changes that cannot be told here (the base branch not in the repository) run, as an undecided filter does
    const changed = loaded.pipeline ? await filesChangedByPullRequest(repo, pullRequest.base, commit) : undefined;
    const paths = loaded.pipeline && changed ? pathsAllow(loaded.pipeline, 'pull_request', changed) : { run: true };
    if (!paths.run) {
      await store.updateRunStatus(run.id, 'cancelled', { reason: paths.why ?? 'on.pull_request.paths: no changed file matches' });
      return undefined;
    }
    return text;
  }
  const isTag = snapshot.ref?.startsWith('refs/tags/') ?? false;
  if (loaded.pipeline && !(isTag ? isTagTriggered(loaded.pipeline, run.trigger.branch) : isBranchTriggered(loaded.pipeline, run.trigger.branch))) {
    await store.updateRunStatus(run.id, 'cancelled', { reason: `on.push does not ask for ${isTag ? 'tag' : 'branch'} ${run.trigger.branch}` });
    return undefined;
  }
  // tags are not filtered by paths (a tag is a release, whatever it changed)
  if (loaded.pipeline && !isTag && snapshot.before !== undefined) {
    const changed = await filesChangedByPush(repo, snapshot.before, commit);
    const paths = changed ? pathsAllow(loaded.pipeline, 'push', changed) : { run: true };
    if (!paths.run) {
      await store.updateRunStatus(run.id, 'cancelled', { reason: paths.why ?? 'on.push.paths: no changed file matches' });
      return undefined;
    }
  }
  return text;
}
