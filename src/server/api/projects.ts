// Projects and their settings: webhook secret, commit status, the forge remote, pull requests'
// secrets, secrets, and manual runs of a project's repository.
import type { Project, Store } from '../../store/index.js';
import { projectNameProblem } from '../../store/index.js';
import { remoteUrlProblem } from '../../git/index.js';
import { HttpError } from '../../http/index.js';
import type { AppContext } from '../app.js';
import { commitStatusApiUrlProblem } from '../commit-status.js';
import { forgeUrlProblem } from '../webhook-remote.js';
import { repositoryPath } from '../repositories.js';
import { ManualRunError, planManualRun } from '../triggers.js';
import type { Handlers } from './routing.js';

/** The project of a (decoded) name, or a 404. */
export async function projectOf(store: Store, name: string): Promise<Project> {
  const project = await store.getProject(name);
  if (!project) throw new HttpError(404, 'PROJECT_NOT_FOUND', `no project ${JSON.stringify(name.slice(0, 100))}`);
  return project;
}

type ProjectRoute = 'listProjects' | 'createProject' | 'getProject' | 'setWebhookSecret' | 'setCommitStatus' | 'setRemote' | 'setPullRequests' | 'listSecrets' | 'setSecret' | 'deleteSecret' | 'startRun';

export function projectRoutes(ctx: AppContext): Handlers<ProjectRoute> {
  const { store } = ctx;
  const audit = (actor: string, action: string, subject: string, details?: Record<string, unknown>) => store.appendAudit({ actor, action, subject, ...(details ? { details } : {}) });
  return {
    listProjects: async () => {
      const [projects, lastRuns] = await Promise.all([store.listProjects(), store.lastRuns()]);
      const lastRunOf = new Map(lastRuns.map((run) => [run.projectId, run]));
      return {
        projects: projects.map((project) => {
          const lastRun = lastRunOf.get(project.id);
          return lastRun ? { ...project, lastRun } : project;
        }),
      };
    },
    createProject: async ({ body, token, reply }) => {
      const problem = projectNameProblem(body.name);
      if (problem) throw new HttpError(422, 'PROJECT_INVALID', problem);
      if (await store.getProject(body.name)) throw new HttpError(409, 'PROJECT_EXISTS', `project '${body.name}' exists`);
      const project = await store.createProject({ name: body.name, allowAutoCreate: body.allowAutoCreate === true });
      await audit(token.name, 'project.create', project.name);
      void reply.code(201);
      return project;
    },
    getProject: async ({ params }) => projectOf(store, params.name),
    setWebhookSecret: async ({ params, body, token }) => {
      const project = await projectOf(store, params.name);
      await store.updateProjectSettings(project.id, { webhookSecret: body.secret });
      await audit(token.name, 'project.webhook-secret', project.name);
      return { ok: true as const };
    },
    setCommitStatus: async ({ params, body, token }) => {
      const project = await projectOf(store, params.name);
      if (body.provider === null) {
        await store.updateProjectSettings(project.id, { commitStatus: null });
        return { ok: true as const };
      }
      if (body.token === undefined) throw new HttpError(422, 'COMMIT_STATUS_INVALID', 'provider (github, gitea or gitlab) and token are required; provider null turns reporting off');
      const apiUrlProblem = body.apiUrl !== undefined ? commitStatusApiUrlProblem(body.apiUrl) : undefined;
      if (apiUrlProblem) throw new HttpError(422, 'COMMIT_STATUS_INVALID', `apiUrl: ${apiUrlProblem}`);
      if (body.provider !== 'github' && body.apiUrl === undefined) throw new HttpError(422, 'COMMIT_STATUS_INVALID', `${body.provider} needs apiUrl, the base URL of the server`);
      await store.updateProjectSettings(project.id, { commitStatus: { provider: body.provider, token: body.token, ...(body.apiUrl !== undefined ? { apiUrl: body.apiUrl } : {}) } });
      await audit(token.name, 'project.commit-status', project.name);
      return { ok: true as const };
    },
    setRemote: async ({ params, body, token }) => {
      const project = await projectOf(store, params.name);
      const problem = body.url !== null ? (remoteUrlProblem(body.url) ?? forgeUrlProblem(body.url)) : undefined;
      if (problem) throw new HttpError(422, 'REMOTE_INVALID', `url: ${problem}`);
      await store.updateProjectSettings(project.id, { remoteUrl: body.url });
      await audit(token.name, 'project.remote', project.name, { url: body.url });
      return { ok: true as const };
    },
    setPullRequests: async ({ params, body, token }) => {
      const project = await projectOf(store, params.name);
      await store.updateProjectSettings(project.id, { pullRequestSecrets: body.secrets });
      await audit(token.name, 'project.pull-requests', project.name, { secrets: body.secrets });
      return { ok: true as const };
    },
    listSecrets: async ({ params }) => ({ names: await store.listSecretNames((await projectOf(store, params.name)).id) }),
    setSecret: async ({ params, body, token }) => {
      const project = await projectOf(store, params.name);
      await store.setSecret(project.id, params.secret, body.value);
      await audit(token.name, 'secret.set', `${project.name}/${params.secret}`);
      return { ok: true as const };
    },
    deleteSecret: async ({ params, token }) => {
      const project = await projectOf(store, params.name);
      if (!(await store.deleteSecret(project.id, params.secret))) throw new HttpError(404, 'SECRET_NOT_FOUND', `project '${project.name}' has no secret ${params.secret}`);
      await audit(token.name, 'secret.delete', `${project.name}/${params.secret}`);
      return { ok: true as const };
    },
    startRun: async ({ params, body, token, reply }) => {
      const project = await projectOf(store, params.name);
      let planned;
      try {
        planned = await planManualRun(repositoryPath(ctx.reposDir, project.name), project, body, token.name);
      } catch (err) {
        if (err instanceof ManualRunError) throw new HttpError(422, err.code, err.message);
        throw err;
      }
      const run = await store.enqueueRun(planned);
      await audit(token.name, 'run.start', run.id, { project: project.name, branch: run.trigger.branch, commit: run.trigger.commit });
      ctx.runner.wake();
      void reply.code(201).header('Location', `/api/runs/${run.id}`);
      return run;
    },
  };
}
