// The shared vocabulary of rollouts, the same for every deploy target: a Revision per rollout, an
// Environment's current state, and the DeployTarget interface the engine, CLI and server use.
import type { DeploySpec } from '../spec/model.js';
import type { ScaleOutcome, ScaleRequest } from './scale-events.js';

export type RevisionOutcome = 'in-progress' | 'healthy' | 'failed' | 'rolled-back';

/** One rollout of an app to an environment. Numbers start at 1 per (app, environment). */
export interface Revision {
  app: string;
  environment: string;
  target: 'docker' | 'kubernetes';
  number: number;
  /** the exact image reference deployed (by digest where there is one) */
  image: string;
  /**
   * The image's content digest when the rollout resolved one (docker: the local image id): what
   * "the same image" means for the no-op rule and rollback, so that a tag moved to another image
   * counts as a change. Absent on revisions from before it was recorded.
   */
  digest?: string;
  /** the deploy block it was rolled out with, image rendered */
  config: Omit<DeploySpec, 'image'> & { image: string };
  trigger: {
    by: string;
    runId?: string;
    commit?: string;
    kind: 'pipeline' | 'deploy' | 'rollback' | 'promote';
    /** promotions: the environment and revision whose image and config were rolled out here */
    from?: { environment: string; revision: number };
  };
  /** for rollbacks: the revision whose image and config were restored */
  restoredFrom?: number;
  createdAt: string;
  finishedAt?: string;
  outcome: RevisionOutcome;
  /** why it failed or was rolled back: the failing check's output, exit code, last log lines */
  reason?: string;
  /**
   * kubernetes: the replica count the rollout set (the block's, or the live count it kept after a
   * scale, see replicasForRollout); what drift compares `spec.replicas` with. Absent on older ones.
   */
  appliedReplicas?: number;
}

/** One field of a live object that differs from what the current revision rendered. */
export interface DriftField {
  /** `deployment/web-production`, `service/web-production` */
  object: string;
  /** `spec.replicas`, `spec.template.spec.containers[app].env[DEBUG]`, `spec.ports[http].port` */
  path: string;
  /** the live value; absent: the field is not there */
  live?: unknown;
  /** what the revision says; absent: the revision does not set it (someone added it) */
  revision?: unknown;
  /** `spec.replicas: 5 (revision says 2)` */
  message: string;
}

/**
 * How the live objects differ from the current revision (someone ran `kubectl edit`, `kubectl
 * scale`, `kubectl set env`…). No fields: none differ. `unchecked`: why drift could not be checked.
 */
export interface Drift {
  /** the revision compared against */
  revision: number;
  fields: DriftField[];
  unchecked?: string;
}

export interface EnvironmentStatus {
  app: string;
  environment: string;
  target: 'docker' | 'kubernetes';
  /** the revision the environment serves (and restores on self-healing) */
  current?: Revision;
  /** where users reach it: the proxy's port (docker) or the Service (kubernetes) */
  endpoint?: string;
  replicas: { desired: number; ready: number; updated?: number };
  message?: string;
  /** the revision being rolled out, when the target knows it (docker) */
  rollingOut?: number;
  /** docker: the environment's network, where other apps call it as `APP` and `APP.ENV` */
  network?: string;
  /** host names routed to it on the shared front (docker) */
  hosts?: string[];
  /** kubernetes: how the live Deployment and Service differ from the current revision */
  drift?: Drift;
}

export interface DeployRequest {
  app: string;
  environment: string;
  spec: DeploySpec;
  /** the rendered image reference */
  image: string;
  trigger: Revision['trigger'];
  /** the run's checked-out workspace: what `kubernetes.manifests` is relative to */
  workspace?: string;
  /**
   * A pull request's preview environment (`environment: pr-${{ pr.number }}`, resolved): the
   * server takes it down when the pull request closes, or after `ttlMs` without a deploy.
   */
  preview?: { pullRequest: number; ttlMs: number };
  /**
   * Roll out a new revision even when the image digest and config equal the current revision's
   * (its replicas are restarted); without it such a deploy is a no-op with outcome `unchanged`.
   */
  force?: boolean;
  signal: AbortSignal;
  onProgress: (line: string) => void;
}

/** Re-applies the current revision as recorded, fixing drift, without a new revision. */
export interface SyncRequest {
  app: string;
  environment: string;
  by: string;
  signal: AbortSignal;
  onProgress: (line: string) => void;
}

/**
 * How a target lets a cluster's nodes pull from Slipway's own registry (the server gives it; a
 * local CLI has none). Images of `host` get a pull secret with a credential for their repository.
 */
export interface RegistryPullAccess {
  /** the registry's host as image references name it (`127.0.0.1:5000`, `registry.example.com`) */
  readonly host: string;
  /** a credential that may only pull `repository`, until `expiresAt` */
  pullCredential(repository: string): Promise<{ username: string; password: string; issuedAt: Date; expiresAt: Date }>;
}

export interface RollbackRequest {
  app: string;
  environment: string;
  /** a revision number; default: the newest healthy revision before the current one that differs from it (image digest and config) */
  to?: number;
  by: string;
  signal: AbortSignal;
  onProgress: (line: string) => void;
}

export interface DeployOutcome {
  /** the new revision; for `unchanged`, the current one (no revision was added) */
  revision: Revision;
  /**
   * `healthy`: the new revision serves; `rolled-back`: it failed and the previous one serves again;
   * `unchanged`: the current revision already runs this image digest and config, nothing was done
   */
  outcome: 'healthy' | 'failed' | 'rolled-back' | 'unchanged';
  reason?: string;
  /** a sync: the current revision was applied again (no revision added); the fields it put back */
  sync?: { corrected: DriftField[] };
}

export interface DeployTarget {
  readonly name: 'docker' | 'kubernetes';
  deploy(request: DeployRequest): Promise<DeployOutcome>;
  rollback(request: RollbackRequest): Promise<DeployOutcome>;
  history(app: string, environment?: string): Promise<Revision[]>;
  status(app?: string, environment?: string): Promise<EnvironmentStatus[]>;
  /**
   * Takes an environment down — its replicas, proxy or Deployment and Service — and keeps its
   * revision history (a pull request's preview when the pull request closes). True when there was
   * something to remove.
   */
  remove(app: string, environment: string): Promise<boolean>;
  /**
   * Sets the replica count of the environment's current revision without a new revision (a scale
   * event in its history), kept by self-healing and restarts; resolves once that many serve.
   */
  scale(request: ScaleRequest): Promise<ScaleOutcome>;
  /**
   * Applies the current revision again as recorded — no new revision — putting back what was
   * changed by hand (kubernetes). A target without it keeps its environments in shape itself.
   */
  sync?(request: SyncRequest): Promise<DeployOutcome>;
  /**
   * Renews the credentials the target handed out before they expire (kubernetes: the image pull
   * secrets of environments running an image of Slipway's registry); the server calls it hourly.
   */
  renewCredentials?(onProblem: (message: string) => void): Promise<void>;
}

/** Rollout failures users see, with stable codes. */
export class DeployError extends Error {
  constructor(
    readonly code:
      | 'ROLLOUT_PROGRESS_DEADLINE'
      | 'ROLLOUT_UNHEALTHY'
      | 'ROLLOUT_NO_REVISION'
      | 'ROLLOUT_INVALID'
      | 'ROLLOUT_TARGET_UNREACHABLE'
      | 'ROLLOUT_FORBIDDEN'
      /** a promotion whose source environment serves no healthy, fully ready, settled revision */
      | 'PROMOTE_SOURCE_UNHEALTHY'
      /** a promotion of a revision that cannot be rolled out again elsewhere (user manifests) */
      | 'PROMOTE_UNSUPPORTED',
    message: string,
    /** ROLLOUT_INVALID: each bad field of the request and what it must be */
    readonly fields: ReadonlyArray<{ field: string; message: string }> = [],
  ) {
    super(message);
  }
}
