// The shapes the API speaks, as TypeBox schemas: each gives the TypeScript type (Static<…>), the
// runtime validation of requests and the OpenAPI document. Responses allow more properties than
// they list, so that a newer server never breaks an older client.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { JOB_STATES, PULL_REQUEST_SECRETS, RUN_STATES, TRIGGER_EVENTS } from '../store/types.js';

const Ms = (description: string) => Type.Integer({ description: `${description} (ms since the epoch)` });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable, e.g. PROJECT_NOT_FOUND' }),
      message: Type.String(),
      fields: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), { description: 'every bad field of a 422' })),
    }),
  },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const Ok = Type.Object({ ok: Type.Literal(true) });

/** An environment name (the deploy targets' rule, isValidName in src/deploy/revisions.ts). */
export const ENVIRONMENT_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$';
export const EnvironmentName = Type.String({ pattern: ENVIRONMENT_NAME_PATTERN, errorMessage: 'an environment name (letters, digits, _ . -; at most 63; starting with a letter or digit)' });
/** deploy:ENV: read, and deploy, roll back and promote to environment ENV only */
const EnvironmentScope = Type.Unsafe<`deploy:${string}`>(Type.String({ pattern: `^deploy:${ENVIRONMENT_NAME_PATTERN.slice(1)}` }));
export const TokenScope = Type.Union([Type.Literal('read'), Type.Literal('run'), Type.Literal('deploy'), Type.Literal('admin'), EnvironmentScope], {
  errorMessage: 'read, run, deploy, admin or deploy:ENV (ENV an environment name: letters, digits, _ . -)',
});
export const RunState = Type.Union(RUN_STATES.map((s) => Type.Literal(s)), { description: 'waiting: parked until someone approves or rejects a manual job' });
export const JobState = Type.Union(JOB_STATES.map((s) => Type.Literal(s)), { description: 'waiting: a manual job waiting for approval' });
export const Provider = Type.Union([Type.Literal('github'), Type.Literal('gitea'), Type.Literal('gitlab')]);

export const PullRequestSecrets = Type.Union(PULL_REQUEST_SECRETS.map((s) => Type.Literal(s)), {
  description: "which pull request runs get the project's secrets: same-repository (the default) or never; a fork's never do",
  errorMessage: 'never or same-repository',
});

export const Project = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAtMs: Ms('created'),
  allowAutoCreate: Type.Boolean(),
  hasWebhookSecret: Type.Boolean(),
  commitStatus: Type.Optional(Type.Object({ provider: Provider, apiUrl: Type.Optional(Type.String()) })),
  remoteUrl: Type.Optional(Type.String()),
  pullRequestSecrets: PullRequestSecrets,
});
export type Project = Static<typeof Project>;

export const TriggerEvent = Type.Union(TRIGGER_EVENTS.map((s) => Type.Literal(s)), { description: 'what started the run' });
export const Trigger = Type.Object({
  event: TriggerEvent,
  branch: Type.String(),
  commit: Type.String(),
  commitMessage: Type.Optional(Type.String()),
  commitTimestampMs: Type.Optional(Type.Integer()),
  deliveryId: Type.Optional(Type.String()),
  sender: Type.String({ description: 'a token name, a webhook sender, "poller"' }),
  pullRequest: Type.Optional(
    Type.Object(
      {
        number: Type.Integer(),
        base: Type.String({ description: 'the branch it would merge into' }),
        head: Type.String({ description: 'its branch' }),
        fork: Type.Boolean({ description: 'from another repository: no secrets, no deploys' }),
        url: Type.Optional(Type.String()),
        title: Type.Optional(Type.String()),
      },
      { description: 'event pull_request: the pull request whose head commit the run tests' },
    ),
  ),
});

const runFields = {
  id: Type.String(),
  projectId: Type.String(),
  number: Type.Integer({ description: '1, 2, 3… per project' }),
  status: RunState,
  trigger: Trigger,
  attempt: Type.Integer(),
  rerunOf: Type.Optional(Type.String()),
  worker: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  createdAtMs: Ms('queued'),
  startedAtMs: Type.Optional(Type.Integer()),
  finishedAtMs: Type.Optional(Type.Integer()),
  logsDeletedAtMs: Type.Optional(Type.Integer()),
};

export const RunSummary = Type.Object(runFields);
export type RunSummary = Static<typeof RunSummary>;
export const Run = Type.Object({ ...runFields, pipeline: Type.Unknown({ description: 'the pipeline file as it was when the run was accepted' }) });
export type Run = Static<typeof Run>;

const timing = {
  status: JobState,
  attempt: Type.Integer(),
  exitCode: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
  startedAtMs: Type.Optional(Type.Integer()),
  finishedAtMs: Type.Optional(Type.Integer()),
};
export const JobDecision = Type.Object({
  kind: Type.Union([Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('expired')]),
  by: Type.Optional(Type.String({ description: 'who decided (a token name); absent when the approval timed out' })),
  atMs: Type.Integer(),
  reason: Type.Optional(Type.String({ description: "a rejection's reason" })),
});
export const JobApproval = Type.Object(
  {
    environment: Type.Optional(Type.String({ description: "a deploy job's environment: approving it needs deploy or deploy:<environment>" })),
    waitingSinceMs: Type.Integer(),
    deadlineMs: Type.Optional(Type.Integer({ description: 'skipped when nobody decided by then (approval.timeout)' })),
    decision: Type.Optional(JobDecision),
  },
  { description: 'a manual job: its wait for approval and the decision on it' },
);
export const Step = Type.Object({ runId: Type.String(), job: Type.String(), index: Type.Integer(), name: Type.String(), ...timing });
export const Job = Type.Object({
  runId: Type.String(),
  name: Type.String(),
  ...timing,
  outputs: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  reused: Type.Boolean({ description: 'taken from the run re-run (failed-jobs re-runs)' }),
  approval: Type.Optional(JobApproval),
  steps: Type.Array(Step),
});
export const JobPlan = Type.Object({
  name: Type.String(),
  kind: Type.Union([Type.Literal('steps'), Type.Literal('build'), Type.Literal('deploy')]),
  needs: Type.Array(Type.String(), { description: 'the jobs of this run it needs: the edges of the job graph' }),
  steps: Type.Array(Type.String()),
});
export const RunDetail = Type.Object({
  ...runFields,
  pipeline: Type.Unknown(),
  jobs: Type.Array(Job),
  plan: Type.Optional(Type.Array(JobPlan, { description: 'every job of the run with what it needs, once the run has started (jobs not started yet have no entry in jobs)' })),
});
export type RunDetail = Static<typeof RunDetail>;

export const ProjectListing = Type.Object({ ...Project.properties, lastRun: Type.Optional(RunSummary) });
export type ProjectListing = Static<typeof ProjectListing>;

export const RunPage = Type.Object({ runs: Type.Array(RunSummary), nextCursor: Type.Optional(Type.String({ description: 'present when there may be older runs' })) });
export type RunPage = Static<typeof RunPage>;

export const LogLine = Type.Object({
  seq: Type.Integer({ description: '1, 2, 3… per run: the SSE event id' }),
  job: Type.String(),
  step: Type.Optional(Type.Integer()),
  stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr'), Type.Literal('system')]),
  line: Type.String(),
  atMs: Type.Integer(),
});
export type LogLine = Static<typeof LogLine>;

export const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(TokenScope),
  prefix: Type.String({ description: 'the first characters of the secret' }),
  createdAtMs: Type.Integer(),
  lastUsedAtMs: Type.Optional(Type.Integer()),
  revokedAtMs: Type.Optional(Type.Integer()),
});
export type TokenInfo = Static<typeof TokenInfo>;
export const CreatedToken = Type.Intersect([TokenInfo, Type.Object({ secret: Type.String({ description: 'shown in this answer only' }) })]);
export type CreatedToken = Static<typeof CreatedToken>;

/** Who a login is: its token's name and scopes (the UI disables what the scopes do not allow). */
export const Session = Type.Object({ name: Type.String({ description: "the token's name" }), scopes: Type.Array(TokenScope) });
export type Session = Static<typeof Session>;

const Target = Type.Union([Type.Literal('docker'), Type.Literal('kubernetes')]);
export const Revision = Type.Object({
  app: Type.String(),
  environment: Type.String(),
  target: Target,
  number: Type.Integer(),
  image: Type.String(),
  config: Type.Record(Type.String(), Type.Unknown(), { description: 'the deploy block it was rolled out with' }),
  trigger: Type.Object({
    by: Type.String(),
    kind: Type.String({ description: 'pipeline, deploy, rollback or promote' }),
    runId: Type.Optional(Type.String()),
    commit: Type.Optional(Type.String()),
    from: Type.Optional(Type.Object({ environment: Type.String(), revision: Type.Integer() }, { description: 'promotions: the environment and revision promoted' })),
  }),
  restoredFrom: Type.Optional(Type.Integer()),
  digest: Type.Optional(Type.String({ description: "the image's content digest the rollout resolved (docker: the local image id); what the no-op rule and rollback compare, so a moved tag is a change" })),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  outcome: Type.Union(['in-progress', 'healthy', 'failed', 'rolled-back'].map((s) => Type.Literal(s))),
  reason: Type.Optional(Type.String()),
});
export type Revision = Static<typeof Revision>;

/** The rollout of an environment under way, as far as this server knows it. */
export const RolloutInProgress = Type.Object(
  {
    kind: Type.String({ description: 'deploy, rollback or promote (through the API), or pipeline (a run\'s deploy job)' }),
    by: Type.String(),
    createdAtMs: Ms('started'),
    revision: Type.Optional(Type.Integer({ description: 'the revision being rolled out, once the target has numbered it' })),
    id: Type.Optional(Type.String({ description: "a rollout started through this server's API: follow its progress lines at /api/rollouts/{id} (JSON or Server-Sent Events)" })),
    runId: Type.Optional(Type.String({ description: "a run's deploy job: its progress lines are the job's log" })),
  },
  { description: 'absent when none is under way' },
);
export type RolloutInProgress = Static<typeof RolloutInProgress>;

/** A field of a live object that differs from what the current revision rendered (kubernetes). */
export const DriftField = Type.Object({
  object: Type.String({ description: 'deployment/NAME, service/NAME or horizontalpodautoscaler/NAME' }),
  path: Type.String({ description: 'e.g. spec.replicas, spec.template.spec.containers[app].env[DEBUG], spec.ports[http].port; empty when the whole object is missing' }),
  live: Type.Optional(Type.Unknown({ description: 'the live value (never for environment variables); absent: not there' })),
  revision: Type.Optional(Type.Unknown({ description: 'what the revision says (never for environment variables); absent: the revision does not set it' })),
  message: Type.String({ description: 'e.g. spec.replicas: 5 (revision says 2)' }),
});
export type DriftField = Static<typeof DriftField>;
export const Drift = Type.Object(
  {
    revision: Type.Integer({ description: 'the revision compared against (the current one)' }),
    fields: Type.Array(DriftField, { description: 'none: the live objects are as the revision renders them' }),
    unchecked: Type.Optional(Type.String({ description: 'why drift was not checked (a rollout under way, user manifests)' })),
  },
  { description: 'kubernetes target: how the live Deployment, Service and HorizontalPodAutoscaler differ from the current revision (kubectl edit, scale, set env…); a deploy with sync puts them back' },
);
export type Drift = Static<typeof Drift>;

export const EnvironmentStatus = Type.Object({
  app: Type.String(),
  environment: Type.String(),
  target: Target,
  current: Type.Optional(Revision),
  endpoint: Type.Optional(Type.String()),
  replicas: Type.Object({ desired: Type.Integer(), ready: Type.Integer(), updated: Type.Optional(Type.Integer()) }),
  message: Type.Optional(Type.String()),
  replicaList: Type.Optional(Type.Array(Type.Object({ name: Type.String(), revision: Type.Integer(), state: Type.String(), hostPort: Type.Optional(Type.Integer()) }), { description: 'docker target: each replica' })),
  network: Type.Optional(Type.String({ description: "docker target: the environment's network, where other apps call this one as APP or APP.ENV on its port" })),
  hosts: Type.Optional(Type.Array(Type.String(), { description: 'docker target: host names routed to it on the shared front (80/443)' })),
  rollout: Type.Optional(RolloutInProgress),
  drift: Type.Optional(Drift),
});
export type EnvironmentStatus = Static<typeof EnvironmentStatus>;

export const Outcome = Type.Object({
  revision: Revision,
  outcome: Type.Union([Type.Literal('healthy'), Type.Literal('failed'), Type.Literal('rolled-back'), Type.Literal('unchanged')], {
    description: 'healthy: the new revision serves; rolled-back: it failed and the previous one serves again; unchanged: the current revision (`revision`) already runs this image digest and config, so nothing was done and no revision added',
  }),
  reason: Type.Optional(Type.String()),
  sync: Type.Optional(Type.Object({ corrected: Type.Array(DriftField, { description: 'the drifted fields it put back' }) }, { description: 'a sync: the current revision (`revision`) was applied again and no revision added' })),
});
export type Outcome = Static<typeof Outcome>;

/** A change of an environment's replica count without a new revision (slipway scale, the API, the autoscaler). */
export const ScaleEvent = Type.Object({
  app: Type.String(),
  environment: Type.String(),
  target: Target,
  revision: Type.Optional(Type.Integer({ description: 'the revision whose replica count changed' })),
  from: Type.Integer(),
  to: Type.Integer(),
  by: Type.String({ description: 'a user or token name, or autoscaler' }),
  cause: Type.Optional(Type.String({ description: "the autoscaler's reason, e.g. in-flight 12.0 per replica, target 5" })),
  at: Type.String({ format: 'date-time' }),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  outcome: Type.Union([Type.Literal('healthy'), Type.Literal('failed')], { description: 'healthy: `to` replicas serve; failed: they did not, and the count went back to `from`' }),
  reason: Type.Optional(Type.String({ description: 'why it failed' })),
});
export type ScaleEvent = Static<typeof ScaleEvent>;

export const RolloutLine = Type.Object({ seq: Type.Integer(), atMs: Type.Integer(), line: Type.String() }, { additionalProperties: true });
export const Rollout = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('deploy'), Type.Literal('rollback'), Type.Literal('promote'), Type.Literal('scale'), Type.Literal('sync')]),
  app: Type.String(),
  environment: Type.String(),
  target: Target,
  image: Type.Optional(Type.String()),
  to: Type.Optional(Type.Integer()),
  from: Type.Optional(Type.Object({ environment: Type.String(), revision: Type.Integer() }, { description: 'promotions: the environment and revision promoted' })),
  replicas: Type.Optional(Type.Integer({ description: 'scales: the replica count asked for' })),
  scale: Type.Optional(ScaleEvent),
  by: Type.String(),
  status: Type.String({ description: 'in-progress, then the outcome (healthy, failed, rolled-back, unchanged) or error' }),
  createdAtMs: Type.Integer(),
  finishedAtMs: Type.Optional(Type.Integer()),
  outcome: Type.Optional(Outcome),
  endpoint: Type.Optional(Type.String()),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  lineCount: Type.Integer(),
  cancelledBy: Type.Optional(Type.String()),
  lines: Type.Array(RolloutLine, { description: 'progress lines after `after`' }),
});
export type Rollout = Static<typeof Rollout>;

const DiffSide = Type.Object({
  number: Type.Integer(),
  image: Type.String(),
  digest: Type.Optional(Type.String({ description: 'the digest the image reference pins (name@sha256:…), if it pins one' })),
  outcome: Revision.properties.outcome,
  createdAt: Type.String({ format: 'date-time' }),
  trigger: Revision.properties.trigger,
  commit: Type.Optional(Type.String({ description: "the commit it was built from (a rollback's: that of the revision it restored)" })),
  project: Type.Optional(Type.String({ description: 'the project whose run built it' })),
});
export const ConfigChange = Type.Object({
  path: Type.String({ description: 'e.g. replicas, health.intervalMs, kubernetes.manifests[0]' }),
  from: Type.Optional(Type.Unknown({ description: 'absent: not set in `from`' })),
  to: Type.Optional(Type.Unknown({ description: 'absent: not set in `to`' })),
});
export type ConfigChange = Static<typeof ConfigChange>;
export const CommitSummary = Type.Object({ sha: Type.String(), subject: Type.String(), author: Type.String(), timeMs: Ms('authored') });
export type CommitSummary = Static<typeof CommitSummary>;
export const RevisionDiff = Type.Object({
  app: Type.String(),
  environment: Type.String(),
  from: DiffSide,
  to: DiffSide,
  imageChanged: Type.Boolean({ description: 'the image references differ' }),
  digestChanged: Type.Optional(Type.Boolean({ description: 'present when both references pin a digest: whether the digests differ' })),
  configChanges: Type.Array(ConfigChange, { description: 'every value of the deploy block that differs (the image apart), path by path' }),
  configTruncated: Type.Optional(Type.Boolean({ description: 'more changes than the 200 listed' })),
  commits: Type.Array(CommitSummary, { description: 'in `to` but not in `from`, newest first' }),
  commitsRemoved: Type.Array(CommitSummary, { description: 'in `from` but not in `to` (going back, as a rollback does), newest first' }),
  truncated: Type.Boolean({ description: 'more commits on a side than the 200 listed' }),
  commitsUnavailable: Type.Optional(Type.String({ description: 'why the commits between them are not known (no commit on a side, different projects, no repository, a commit not in it)' })),
});
export type RevisionDiff = Static<typeof RevisionDiff>;

export const Dora = Type.Object({
  windowDays: Type.Number(),
  deployments: Type.Integer(),
  deploymentFrequencyPerDay: Type.Number(),
  leadTimeMedianMs: Type.Optional(Type.Number()),
  changeFailureRate: Type.Optional(Type.Number()),
  timeToRestoreMedianMs: Type.Optional(Type.Number()),
});
export type Dora = Static<typeof Dora>;

// --- the registry, as the web UI browses it ----------------------------------------------------

export const RegistryRepositories = Type.Object({
  repositories: Type.Array(Type.Object({ name: Type.String(), tagCount: Type.Integer() }), { description: 'sorted by name' }),
  total: Type.Integer({ description: 'repositories in the registry' }),
  truncated: Type.Boolean({ description: 'more repositories than the 1000 answered' }),
});
export type RegistryRepositories = Static<typeof RegistryRepositories>;

export const RegistryPlatform = Type.Object({ os: Type.String(), architecture: Type.String(), variant: Type.Optional(Type.String()) });
export const RegistryTagEnvironment = Type.Object(
  {
    app: Type.String(),
    environment: Type.String(),
    revision: Type.Integer(),
    image: Type.String({ description: "the revision's image reference" }),
    matchedBy: Type.Union([Type.Literal('digest'), Type.Literal('tag')], { description: 'tag: the reference names a tag of this registry, matched by the digest that tag points at now' }),
  },
  { description: "an environment whose current revision runs this tag's digest" },
);
export const RegistryTag = Type.Object({
  tag: Type.String(),
  digest: Type.String(),
  mediaType: Type.String({ description: "the manifest's; empty when it could not be read" }),
  kind: Type.Union([Type.Literal('image'), Type.Literal('index'), Type.Literal('unknown')], { description: 'unknown: the manifest was not read (see note)' }),
  sizeBytes: Type.Optional(Type.Integer({ description: "the manifest, its config and layers as declared; an index: itself plus each child's, a blob shared by children once" })),
  createdAtMs: Type.Optional(Type.Number({ description: "the image config's created (an index: its newest child's), ms since the epoch" })),
  taggedAtMs: Type.Optional(Type.Integer({ description: 'when the tag was last pushed (ms since the epoch)' })),
  platforms: Type.Array(RegistryPlatform),
  artifactType: Type.Optional(Type.String()),
  note: Type.Optional(Type.String({ description: 'why a detail is missing' })),
  environments: Type.Array(RegistryTagEnvironment),
});
export type RegistryTag = Static<typeof RegistryTag>;
export const RegistryTagList = Type.Object({
  repository: Type.String(),
  tags: Type.Array(RegistryTag, { description: 'newest tagged first' }),
  tagCount: Type.Integer({ description: 'tags in the repository' }),
  truncated: Type.Boolean({ description: 'more tags than answered (1000 at most, or `limit`)' }),
  environmentsUnavailable: Type.Optional(Type.String({ description: 'why environments could not be matched (the deploy targets did not answer)' })),
});
export type RegistryTagList = Static<typeof RegistryTagList>;

/** A schema for a field with the words a 422 uses for it ("a whole number from 1 to 1000"). */
export function described<T extends TSchema>(schema: T, expected: string): T {
  return { ...schema, errorMessage: expected };
}
