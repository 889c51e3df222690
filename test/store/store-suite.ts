// The one behaviour suite every Store implementation runs (hono's common.case pattern):
// sqlite.test.ts and postgres.test.ts each call storeSuite with their own harness.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { RunEvent } from '../../src/engine/index.js';
import {
  LATEST_SCHEMA_VERSION,
  SESSION_IDLE_MS,
  SESSION_LIFETIME_MS,
  StoreError,
  type EnqueueRun,
  type Project,
  type Store,
  type StoreErrorCode,
  type Trigger,
} from '../../src/store/index.js';

export interface Target {
  store: Store;
  /** the same database opened again (another replica / a restart); env replaces SLIPWAY_SECRET_KEY's source */
  reopen(env?: NodeJS.ProcessEnv): Promise<Store>;
  /** runs raw SQL on the database behind the store's back (to age it, to read raw columns) */
  raw(sql: string): Promise<Array<Record<string, unknown>>>;
}

export interface Harness {
  /** a fresh, empty database */
  fresh(): Promise<Target>;
  /** true when two Store objects may share a database inside one process (PostgreSQL) */
  sharedDatabase: boolean;
}

const trigger = (over: Partial<Trigger> = {}): Trigger => ({
  event: 'push',
  branch: 'main',
  commit: 'a'.repeat(40),
  sender: 'alice',
  ...over,
});

const run = (project: Project, over: Partial<Trigger> = {}): EnqueueRun => ({
  projectId: project.id,
  trigger: trigger(over),
  pipeline: { name: 'ci', jobs: [{ name: 'test' }] },
});

async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

export function storeSuite(name: string, harness: () => Promise<Harness>): void {
  describe(`store on ${name}`, () => {
    let h: Harness;
    const opened: Store[] = [];
    async function fresh(): Promise<Target> {
      h ??= await harness();
      const target = await h.fresh();
      opened.push(target.store);
      const reopen = target.reopen;
      target.reopen = async (env) => {
        const store = await reopen(env);
        opened.push(store);
        return store;
      };
      return target;
    }
    after(async () => {
      for (const store of opened) await store.close().catch(() => undefined);
    });

    describe('migrations', () => {
      it('applies every migration at open, and opening again changes nothing', async () => {
        const { store, reopen } = await fresh();
        assert.equal(store.schemaVersion, LATEST_SCHEMA_VERSION);
        await store.createProject({ name: 'kept' });
        const again = await reopen();
        assert.equal(again.schemaVersion, LATEST_SCHEMA_VERSION);
        assert.equal((await again.getProject('kept'))?.name, 'kept');
      });

      it('refuses a database migrated by a newer Slipway with a clear error', async () => {
        const { raw, reopen } = await fresh();
        await raw(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${LATEST_SCHEMA_VERSION + 1}, 'future', 0)`);
        await rejectsWith(reopen(), 'STORE_SCHEMA_TOO_NEW', /newer than this Slipway knows.*upgrade Slipway/);
      });
    });

    describe('projects', () => {
      it('creates projects with unique, valid names and finds them by id or name', async () => {
        const { store } = await fresh();
        const shop = await store.createProject({ name: 'shop-api' });
        await store.createProject({ name: 'blog', allowAutoCreate: true });
        assert.deepEqual(await store.getProject(shop.id), shop);
        assert.deepEqual(await store.getProject('shop-api'), shop);
        assert.equal(await store.getProject('nope'), undefined);
        assert.deepEqual(
          (await store.listProjects()).map((p) => [p.name, p.allowAutoCreate]),
          [
            ['blog', true],
            ['shop-api', false],
          ],
        );
        await rejectsWith(store.createProject({ name: 'shop-api' }), 'STORE_NAME_TAKEN');
        for (const bad of ['', 'Shop', '-x', 'a..b', 'a/b', 'x'.repeat(64), 'app.']) {
          await rejectsWith(store.createProject({ name: bad }), 'STORE_NAME_INVALID', /lowercase letters/);
        }
      });

      it('keeps the webhook secret and commit status token encrypted and returns them decrypted', async () => {
        const { store, raw } = await fresh();
        const p = await store.createProject({ name: 'shop' });
        assert.equal(p.hasWebhookSecret, false);
        const updated = await store.updateProjectSettings(p.id, {
          webhookSecret: 'hook-secret-value',
          allowAutoCreate: true,
          commitStatus: { provider: 'gitea', token: 'gitea-token-value', apiUrl: 'https://git.example/api/v1' },
        });
        assert.equal(updated.hasWebhookSecret, true);
        assert.equal(updated.allowAutoCreate, true);
        assert.deepEqual(updated.commitStatus, { provider: 'gitea', apiUrl: 'https://git.example/api/v1' });
        assert.equal(await store.getWebhookSecret(p.id), 'hook-secret-value');
        assert.equal(await store.getCommitStatusToken(p.id), 'gitea-token-value');
        const [row] = await raw(`SELECT webhook_secret_enc, commit_status_token_enc FROM projects WHERE name = 'shop'`);
        assert.doesNotMatch(JSON.stringify(row), /hook-secret-value|gitea-token-value/);

        const cleared = await store.updateProjectSettings('shop', { webhookSecret: null, commitStatus: null });
        assert.equal(cleared.hasWebhookSecret, false);
        assert.equal(cleared.commitStatus, undefined);
        assert.equal(await store.getWebhookSecret(p.id), undefined);
        await rejectsWith(store.updateProjectSettings('missing', { allowAutoCreate: true }), 'STORE_NOT_FOUND');
      });

      it("gives same-repository pull requests secrets by default, and keeps 'never' once set", async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'shop' });
        assert.equal(p.pullRequestSecrets, 'same-repository');
        assert.equal((await store.updateProjectSettings(p.id, { pullRequestSecrets: 'never' })).pullRequestSecrets, 'never');
        assert.equal((await store.getProject('shop'))?.pullRequestSecrets, 'never');
        assert.equal((await store.updateProjectSettings(p.id, { allowAutoCreate: true })).pullRequestSecrets, 'never', 'other settings leave it');
        assert.equal((await store.updateProjectSettings(p.id, { pullRequestSecrets: 'same-repository' })).pullRequestSecrets, 'same-repository');
      });
    });

    describe('secrets', () => {
      it('sets, reads, lists and deletes project secrets, encrypted at rest', async () => {
        const { store, raw } = await fresh();
        const p = await store.createProject({ name: 'app' });
        await store.setSecret(p.id, 'DB_PASSWORD', 'hunter2-plaintext');
        await store.setSecret(p.id, 'API_KEY', 'k1');
        await store.setSecret(p.id, 'API_KEY', 'k2');
        assert.equal(await store.getSecret(p.id, 'DB_PASSWORD'), 'hunter2-plaintext');
        assert.equal(await store.getSecret(p.id, 'API_KEY'), 'k2');
        assert.equal(await store.getSecret(p.id, 'MISSING'), undefined);
        assert.deepEqual(await store.listSecretNames(p.id), ['API_KEY', 'DB_PASSWORD']);
        const rows = await raw('SELECT value_enc FROM project_secrets');
        assert.doesNotMatch(JSON.stringify(rows), /hunter2/);
        assert.equal(await store.deleteSecret(p.id, 'API_KEY'), true);
        assert.equal(await store.deleteSecret(p.id, 'API_KEY'), false);
        assert.deepEqual(await store.listSecretNames(p.id), ['DB_PASSWORD']);
        await rejectsWith(store.setSecret(p.id, '1BAD-NAME', 'x'), 'STORE_NAME_INVALID');
        await rejectsWith(store.setSecret('no-such-project', 'OK', 'x'), 'STORE_NOT_FOUND');
      });

      it('a value copied into another row does not decrypt (values are bound to where they live)', async () => {
        const { store, raw } = await fresh();
        const p = await store.createProject({ name: 'app' });
        await store.setSecret(p.id, 'A', 'alpha');
        await store.setSecret(p.id, 'B', 'beta');
        await raw(`UPDATE project_secrets SET value_enc = (SELECT value_enc FROM project_secrets WHERE name = 'A') WHERE name = 'B'`);
        await rejectsWith(store.getSecret(p.id, 'B'), 'STORE_SECRET_KEY_MISMATCH');
      });

      it('opening with another secret key fails at open with what to do', async () => {
        const { reopen } = await fresh();
        const otherKey = Buffer.alloc(32, 7).toString('base64');
        await rejectsWith(reopen({ SLIPWAY_SECRET_KEY: otherKey }), 'STORE_SECRET_KEY_MISMATCH', /SLIPWAY_SECRET_KEY.*same key/);
        await rejectsWith(reopen({ SLIPWAY_SECRET_KEY: 'c2hvcnQ=' }), 'STORE_SECRET_KEY_INVALID', /32 bytes/);
      });
    });

    describe('tokens', () => {
      it('returns the secret once, keeps only a hash, verifies, lists and revokes', async () => {
        const { store, raw } = await fresh();
        const { token, secret } = await store.createToken({ name: 'ci bot', scopes: ['run', 'read'] });
        assert.match(secret, /^slw_[A-Za-z0-9_-]{32}$/);
        assert.deepEqual(token.scopes, ['read', 'run']);
        assert.equal(token.prefix, secret.slice(0, 12));
        const rows = await raw('SELECT * FROM tokens');
        assert.doesNotMatch(JSON.stringify(rows), new RegExp(secret.slice(12)));

        assert.equal(token.lastUsedAtMs, undefined);
        assert.deepEqual(await store.verifyToken(secret), { id: token.id, name: 'ci bot', scopes: ['read', 'run'] });
        assert.ok((await store.listTokens())[0]?.lastUsedAtMs !== undefined, 'verify records the last use');
        assert.equal(await store.verifyToken(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')), undefined);
        assert.equal(await store.verifyToken('slw_nothing-like-it-at-all'), undefined);
        assert.equal(await store.verifyToken(''), undefined);

        assert.equal(await store.revokeToken(token.id), true);
        assert.equal(await store.revokeToken(token.id), false);
        assert.equal(await store.verifyToken(secret), undefined);
        assert.ok((await store.listTokens())[0]?.revokedAtMs !== undefined);
      });

      it('imports a given secret (SLIPWAY_ADMIN_TOKEN) and rejects bad scopes and short secrets', async () => {
        const { store } = await fresh();
        const given = 'my-admin-token-from-the-environment';
        await store.createToken({ name: 'admin', scopes: ['admin'], secret: given });
        assert.deepEqual((await store.verifyToken(given))?.scopes, ['admin']);
        await rejectsWith(store.createToken({ name: 'x', scopes: ['root' as 'admin'] }), 'STORE_TOKEN_INVALID', /unknown: root/);
        await rejectsWith(store.createToken({ name: 'x', scopes: [] }), 'STORE_TOKEN_INVALID');
        await rejectsWith(store.createToken({ name: 'x', scopes: ['read'], secret: 'short' }), 'STORE_TOKEN_INVALID', /16/);
      });
    });

    describe('sessions', () => {
      const HOUR = 3_600_000;

      it('makes a session for a live token, keeps only a hash of its secret, verifies it as the token and deletes it', async () => {
        const { store, raw } = await fresh();
        const { token } = await store.createToken({ name: 'viewer', scopes: ['read'] });
        const { session, secret } = await store.createSession(token.id);
        assert.match(secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
        assert.equal(session.tokenId, token.id);
        assert.equal(session.expiresAtMs - session.createdAtMs, SESSION_LIFETIME_MS);
        const rows = await raw('SELECT * FROM sessions');
        assert.equal(rows.length, 1);
        assert.doesNotMatch(JSON.stringify(rows), new RegExp(secret.slice(0, 20)), 'the secret is not stored');

        const verified = await store.verifySession(secret);
        assert.deepEqual(verified?.token, { id: token.id, name: 'viewer', scopes: ['read'] });
        assert.equal(verified?.session.id, session.id);
        assert.equal(await store.verifySession(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A')), undefined);
        assert.equal(await store.verifySession(''), undefined);
        assert.equal(await store.verifySession("' OR 1=1 --"), undefined);

        assert.equal(await store.deleteSession(secret), true);
        assert.equal(await store.deleteSession(secret), false);
        assert.equal(await store.verifySession(secret), undefined);
        assert.equal((await raw('SELECT * FROM sessions')).length, 0);
      });

      it('a revoked token ends its sessions and gets no new one', async () => {
        const { store } = await fresh();
        const { token } = await store.createToken({ name: 'ci', scopes: ['run'] });
        const other = await store.createToken({ name: 'other', scopes: ['admin'] });
        const a = await store.createSession(token.id);
        const b = await store.createSession(other.token.id);
        await store.revokeToken(token.id);
        assert.equal(await store.verifySession(a.secret), undefined);
        assert.equal((await store.verifySession(b.secret))?.token.name, 'other', "another token's session lives on");
        await rejectsWith(store.createSession(token.id), 'STORE_NOT_FOUND', /revoked/);
        await rejectsWith(store.createSession('01NOSUCHTOKEN'), 'STORE_NOT_FOUND');
      });

      it('ends a session idle for 12 hours or 7 days after its login, and the sweep removes ended ones', async () => {
        const { store, raw } = await fresh();
        const { token } = await store.createToken({ name: 'viewer', scopes: ['read'] });
        const idle = await store.createSession(token.id);
        const old = await store.createSession(token.id);
        const busy = await store.createSession(token.id);
        const revokedToken = await store.createToken({ name: 'gone', scopes: ['read'] });
        const orphan = await store.createSession(revokedToken.token.id);
        await store.revokeToken(revokedToken.token.id);
        const now = Date.now();
        await raw(`UPDATE sessions SET last_seen_at = ${now - 12 * HOUR - 1000} WHERE id = '${idle.session.id}'`);
        await raw(`UPDATE sessions SET expires_at = ${now - 1000} WHERE id = '${old.session.id}'`);
        await raw(`UPDATE sessions SET last_seen_at = ${now - 11 * HOUR}, created_at = ${now - 6 * 24 * HOUR} WHERE id = '${busy.session.id}'`);
        assert.ok(SESSION_IDLE_MS === 12 * HOUR);

        const verified = await store.verifySession(busy.secret);
        assert.ok(verified, 'idle 11 hours, 6 days old: still on');
        assert.ok(verified.session.lastSeenAtMs >= now, 'the use is recorded, so the idle clock restarts');
        assert.equal(await store.verifySession(old.secret), undefined, 'past its absolute end');

        assert.equal(await store.deleteExpiredSessions(), 2, 'the idle one and the revoked token’s (the expired one went when it was verified)');
        assert.deepEqual((await raw('SELECT id FROM sessions')).map((r) => r.id), [busy.session.id]);
        assert.equal(await store.verifySession(idle.secret), undefined);
        assert.equal(await store.verifySession(orphan.secret), undefined);
      });
    });

    describe('runs', () => {
      it('enqueues runs numbered per project, persisted with trigger and pipeline', async () => {
        const { store, reopen } = await fresh();
        const a = await store.createProject({ name: 'a' });
        const b = await store.createProject({ name: 'b' });
        const first = await store.enqueueRun(
          run(a, { event: 'webhook', commitMessage: 'fix: it', commitTimestampMs: 1_700_000_000_000, deliveryId: 'd-1' }),
        );
        const second = await store.enqueueRun(run(a));
        const other = await store.enqueueRun(run(b));
        assert.deepEqual([first.number, second.number, other.number], [1, 2, 1]);
        assert.equal(first.status, 'queued');
        assert.equal(first.attempt, 1);
        assert.deepEqual(first.trigger, {
          event: 'webhook',
          branch: 'main',
          commit: 'a'.repeat(40),
          sender: 'alice',
          commitMessage: 'fix: it',
          commitTimestampMs: 1_700_000_000_000,
          deliveryId: 'd-1',
        });
        // a restart sees exactly what was acknowledged
        const again = await reopen();
        assert.deepEqual(await again.getRun(first.id), first);
        await rejectsWith(store.enqueueRun({ ...run(a), projectId: 'missing' }), 'STORE_NOT_FOUND');
      });

      it("lists the environments pull-request runs deployed to (previews) with their last deploy, by project, pull request and age", async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'previews' });
        const pr = (number: number) => ({ number, base: 'main', head: `f${number}`, fork: false });
        const seven = await store.enqueueRun(run(p, { event: 'pull_request', pullRequest: pr(7) }));
        const eight = await store.enqueueRun(run(p, { event: 'pull_request', pullRequest: pr(8) }));
        const main = await store.enqueueRun(run(p));
        const deployed = (runId: string, app: string, environment: string, number: number, createdAtMs: number) =>
          store.recordRevision({ app, environment, number, projectId: p.id, target: 'docker', image: 'i', outcome: 'healthy', trigger: { kind: 'pipeline', by: 'ci' }, runId, createdAtMs });
        await deployed(seven.id, 'web', 'pr-7', 1, 1000);
        await deployed(seven.id, 'web', 'pr-7', 2, 5000);
        await deployed(seven.id, 'api', 'pr-7', 1, 2000);
        await deployed(eight.id, 'web', 'pr-8', 1, 9000);
        await deployed(main.id, 'web', 'staging', 1, 100);
        const all = await store.listPreviews({ projectId: p.id });
        assert.deepEqual(
          all.map((v) => `${v.pullRequest} ${v.app}/${v.environment} ${v.lastDeployAtMs}`),
          ['7 api/pr-7 2000', '7 web/pr-7 5000', '8 web/pr-8 9000'],
          'a push run\'s deploy (staging) is not a preview',
        );
        assert.deepEqual((await store.listPreviews({ projectId: p.id, pullRequest: 8 })).map((v) => v.environment), ['pr-8']);
        assert.deepEqual((await store.listPreviews({ deployedBeforeMs: 5000 })).map((v) => v.app), ['api'], 'only those not deployed since');
        assert.equal(all[0]?.target, 'docker');
      });

      it('keeps the pull request a run tests, lists the runs of one pull request, and a re-run keeps it', async () => {
        const { store, reopen } = await fresh();
        const p = await store.createProject({ name: 'prs' });
        const pullRequest = { number: 7, base: 'main', head: 'feature/x', fork: true, url: 'https://forge.test/t/prs/pull/7', title: 'Add x' };
        const first = await store.enqueueRun(run(p, { event: 'pull_request', branch: 'feature/x', pullRequest }));
        await store.enqueueRun(run(p, { event: 'pull_request', branch: 'other', pullRequest: { ...pullRequest, number: 8 } }));
        await store.enqueueRun(run(p));
        const second = await store.enqueueRun(run(p, { event: 'pull_request', branch: 'feature/x', pullRequest }));
        assert.deepEqual(first.trigger.pullRequest, pullRequest);
        assert.deepEqual((await (await reopen()).getRun(first.id))?.trigger.pullRequest, pullRequest);
        const ofSeven = await store.listRuns({ projectId: p.id, pullRequest: 7 });
        assert.deepEqual(ofSeven.runs.map((r) => r.id), [second.id, first.id]);
        assert.equal((await store.listRuns({ projectId: p.id, event: 'pull_request' })).runs.length, 3);
        await store.updateRunStatus(first.id, 'running');
        await store.updateRunStatus(first.id, 'failure');
        const again = await store.rerun(first.id, 'all', 'bob');
        assert.deepEqual(again.trigger.pullRequest, pullRequest);
        assert.equal((await store.listRuns({ projectId: p.id, pullRequest: 7 })).runs.length, 3);
      });

      it('claims the oldest queued run, once, and moves runs through their states with timestamps', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r1 = await store.enqueueRun(run(p));
        const r2 = await store.enqueueRun(run(p));
        const claimed = await store.claimNextRun('worker-1');
        assert.equal(claimed?.id, r1.id);
        assert.equal(claimed?.status, 'running');
        assert.equal(claimed?.worker, 'worker-1');
        assert.ok(claimed?.startedAtMs !== undefined);
        assert.equal((await store.claimNextRun('worker-2'))?.id, r2.id);
        assert.equal(await store.claimNextRun('worker-3'), undefined);

        const done = await store.updateRunStatus(r1.id, 'success');
        assert.equal(done.status, 'success');
        assert.ok(done.finishedAtMs !== undefined && done.finishedAtMs >= done.startedAtMs!);
        await rejectsWith(store.updateRunStatus(r1.id, 'failure'), 'STORE_RUN_TRANSITION', /is success; it cannot become failure/);
        await rejectsWith(store.updateRunStatus('missing', 'failure'), 'STORE_NOT_FOUND');
        const failed = await store.updateRunStatus(r2.id, 'failure', { reason: 'job test failed' });
        assert.equal(failed.reason, 'job test failed');

        const r3 = await store.enqueueRun(run(p));
        assert.equal((await store.updateRunStatus(r3.id, 'cancelled')).status, 'cancelled');
        assert.equal(await store.countRuns({ projectId: p.id }), 3);
        assert.equal(await store.countRuns({ status: 'failure' }), 1);
      });

      it('crash recovery marks running runs interrupted (their jobs too) and requeues them as the next attempt', async () => {
        const { store, reopen } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r1 = await store.enqueueRun(run(p));
        const r2 = await store.enqueueRun(run(p));
        const r3 = await store.enqueueRun(run(p));
        await store.claimNextRun('w');
        await store.claimNextRun('w');
        await store.upsertJob({ runId: r1.id, name: 'build', status: 'running', startedAtMs: 1 });
        await store.upsertStep({ runId: r1.id, job: 'build', index: 0, name: 'make', status: 'running' });

        // the process dies; a new one opens the same database
        const restarted = await reopen();
        const interrupted = await restarted.markInterrupted('server restarted');
        assert.deepEqual(
          interrupted.map((r) => [r.id, r.status, r.reason]),
          [
            [r1.id, 'interrupted', 'server restarted'],
            [r2.id, 'interrupted', 'server restarted'],
          ],
        );
        assert.equal(await restarted.countRuns({ status: 'running' }), 0);
        assert.equal((await restarted.getRun(r3.id))?.status, 'queued');
        const detail = await restarted.getRunDetail(r1.id);
        assert.equal(detail?.jobs[0]?.status, 'cancelled');
        assert.equal(detail?.jobs[0]?.steps[0]?.status, 'cancelled');

        const retried = await restarted.requeueRun(r1.id);
        assert.equal(retried.status, 'queued');
        assert.equal(retried.attempt, 2);
        assert.equal(retried.finishedAtMs, undefined);
        await rejectsWith(restarted.requeueRun(r3.id), 'STORE_RUN_TRANSITION');
        // the retry goes to the back of the queue
        assert.equal((await restarted.claimNextRun('w'))?.id, r3.id);
        assert.equal((await restarted.claimNextRun('w'))?.id, r1.id);
      });

      it('markInterrupted with a worker leaves the runs of other replicas alone', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        await store.enqueueRun(run(p));
        await store.enqueueRun(run(p));
        const mine = await store.claimNextRun('replica-a');
        const theirs = await store.claimNextRun('replica-b');
        assert.deepEqual((await store.markInterrupted('restart', 'replica-a')).map((r) => r.id), [mine!.id]);
        assert.equal((await store.getRun(theirs!.id))?.status, 'running');
      });

      it('workers whose heartbeat went silent are named while they hold running runs; beating ones and ones that never beat are not', async () => {
        const { store, raw } = await fresh();
        const p = await store.createProject({ name: 'p' });
        for (let i = 0; i < 4; i++) await store.enqueueRun(run(p));
        await store.recordHeartbeat('host-a/1/1');
        await store.recordHeartbeat('host-b/2/2');
        await store.recordHeartbeat('host-c/3/3');
        await store.claimNextRun('host-a/1/1');
        await store.claimNextRun('host-a/1/1');
        await store.claimNextRun('host-b/2/2');
        await store.claimNextRun('before-heartbeats/4/4');
        const now = Date.now();
        assert.deepEqual(await store.silentWorkers(now - 60_000), [], 'everyone beat just now');
        await raw(`UPDATE workers SET seen_at = ${now - 120_000} WHERE id IN ('host-a/1/1', 'host-c/3/3')`);
        assert.deepEqual(await store.silentWorkers(now - 60_000), ['host-a/1/1'], 'host-c holds no running run; before-heartbeats never beat');
        await store.recordHeartbeat('host-a/1/1');
        assert.deepEqual(await store.silentWorkers(now - 60_000), [], 'a beat makes it alive again');
        await raw(`UPDATE workers SET seen_at = ${now - 8 * 24 * 3_600_000} WHERE id IN ('host-a/1/1', 'host-c/3/3')`);
        await store.recordHeartbeat('host-b/2/2');
        assert.deepEqual((await raw('SELECT id FROM workers ORDER BY id')).map((r) => r.id), ['host-a/1/1', 'host-b/2/2'], 'a week-silent worker with no running run is forgotten; one holding runs is kept');
      });

      it('keeps jobs and steps with merged updates, outputs, and a clean slate per attempt', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r = await store.enqueueRun(run(p));
        await store.upsertJob({ runId: r.id, name: 'test', status: 'running', startedAtMs: 10 });
        await store.upsertJob({ runId: r.id, name: 'build', status: 'pending' });
        const failed = await store.upsertJob({ runId: r.id, name: 'test', status: 'failure', exitCode: 2, finishedAtMs: 20, reason: 'exit 2' });
        assert.deepEqual(
          [failed.status, failed.attempt, failed.exitCode, failed.startedAtMs, failed.finishedAtMs, failed.reason],
          ['failure', 1, 2, 10, 20, 'exit 2'],
        );
        const retry = await store.upsertJob({ runId: r.id, name: 'test', status: 'running', attempt: 2, startedAtMs: 30 });
        assert.deepEqual([retry.attempt, retry.exitCode, retry.reason, retry.finishedAtMs], [2, undefined, undefined, undefined]);
        await store.upsertJob({ runId: r.id, name: 'test', status: 'success', exitCode: 0, finishedAtMs: 40, outputs: { digest: 'sha256:abc' } });
        await store.upsertStep({ runId: r.id, job: 'test', index: 1, name: 'lint', status: 'success', exitCode: 0 });
        await store.upsertStep({ runId: r.id, job: 'test', index: 0, name: 'npm ci', status: 'running' });
        await store.upsertStep({ runId: r.id, job: 'test', index: 0, name: 'npm ci', status: 'success', exitCode: 0 });

        const detail = await store.getRunDetail(r.id);
        assert.deepEqual(detail?.pipeline, { name: 'ci', jobs: [{ name: 'test' }] });
        assert.deepEqual(detail?.jobs.map((j) => j.name), ['test', 'build'], 'jobs in the order first reported');
        const test = detail!.jobs[0]!;
        assert.deepEqual(test.outputs, { digest: 'sha256:abc' });
        assert.deepEqual([test.attempt, test.exitCode, test.startedAtMs], [2, 0, 30]);
        assert.deepEqual(test.steps.map((s) => [s.index, s.name, s.status, s.exitCode]), [
          [0, 'npm ci', 'success', 0],
          [1, 'lint', 'success', 0],
        ]);
        assert.equal(await store.getRunDetail('missing'), undefined);
        await rejectsWith(store.upsertJob({ runId: 'missing', name: 'x', status: 'running' }), 'STORE_NOT_FOUND');
      });

      it('re-runs a whole run, or only its failed jobs reusing the outputs of the jobs that passed', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r = await store.enqueueRun(run(p, { commitMessage: 'feat' }));
        await store.claimNextRun('w');
        await store.upsertJob({ runId: r.id, name: 'build', status: 'success', exitCode: 0, outputs: { image: 'reg/app@sha256:1' } });
        await store.upsertStep({ runId: r.id, job: 'build', index: 0, name: 'build', status: 'success', exitCode: 0 });
        await store.upsertJob({ runId: r.id, name: 'test', status: 'failure', exitCode: 1 });
        await store.upsertStep({ runId: r.id, job: 'test', index: 0, name: 'test', status: 'failure', exitCode: 1 });
        await rejectsWith(store.rerun(r.id, 'failed-jobs', 'bob'), 'STORE_RUN_TRANSITION', /failed, cancelled or interrupted/);
        await store.updateRunStatus(r.id, 'failure');

        const partial = await store.rerun(r.id, 'failed-jobs', 'bob');
        assert.equal(partial.status, 'queued');
        assert.equal(partial.rerunOf, r.id);
        assert.equal(partial.number, 2);
        assert.equal(partial.trigger.sender, 'bob');
        assert.equal(partial.trigger.commitMessage, 'feat');
        assert.deepEqual(partial.pipeline, r.pipeline);
        const detail = await store.getRunDetail(partial.id);
        assert.deepEqual(
          detail?.jobs.map((j) => [j.name, j.status, j.reused, j.outputs, j.steps.length]),
          [['build', 'success', true, { image: 'reg/app@sha256:1' }, 1]],
        );

        const whole = await store.rerun(r.id, 'all', 'carol');
        assert.deepEqual((await store.getRunDetail(whole.id))?.jobs, []);
        await rejectsWith(store.rerun('missing', 'all', 'x'), 'STORE_NOT_FOUND');
      });

      it('lists runs newest first with filters and keyset pages that neither skip nor repeat', async () => {
        const { store } = await fresh();
        const a = await store.createProject({ name: 'a' });
        const b = await store.createProject({ name: 'b' });
        const ids: string[] = [];
        for (let i = 0; i < 25; i++) {
          const r = await store.enqueueRun(run(i % 2 ? b : a, { branch: i % 3 ? 'main' : 'dev' }));
          ids.push(r.id);
          if (i % 5 === 0) {
            await store.claimNextRun('w');
          }
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns({ limit: 7, ...(cursor ? { cursor } : {}) });
          assert.ok(page.runs.length <= 7);
          assert.ok(!('pipeline' in (page.runs[0] ?? {})), 'lists leave the pipeline snapshot out');
          seen.push(...page.runs.map((r) => r.id));
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual(seen, [...ids].reverse());

        const aMain = await store.listRuns({ projectId: a.id, branch: 'main', limit: 100 });
        assert.ok(aMain.runs.length > 0 && aMain.runs.every((r) => r.projectId === a.id && r.trigger.branch === 'main'));
        assert.equal(aMain.nextCursor, undefined);
        const running = await store.listRuns({ status: 'running' });
        assert.equal(running.runs.length, 5);
        await rejectsWith(store.listRuns({ cursor: 'not-a-cursor' }), 'STORE_NOT_FOUND', /cursor/);
      });
    });

    describe('logs and events', () => {
      it('appends log lines in batches, numbered per run, and reads them from a sequence number', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r = await store.enqueueRun(run(p));
        const other = await store.enqueueRun(run(p));
        assert.deepEqual(
          await store.appendLogs(r.id, [
            { job: 'test', step: 0, stream: 'stdout', line: 'hello', atMs: 5 },
            { job: 'test', step: 0, stream: 'stderr', line: 'warn: ✓ ünïcode' },
          ]),
          { firstSeq: 1, lastSeq: 2 },
        );
        const big = Array.from({ length: 2600 }, (_, i) => ({ job: i % 2 ? 'build' : 'test', stream: 'stdout' as const, line: `line ${i}` }));
        assert.deepEqual(await store.appendLogs(r.id, big), { firstSeq: 3, lastSeq: 2602 });
        assert.equal(await store.appendLogs(r.id, []), undefined);
        assert.deepEqual(await store.appendLogs(other.id, [{ job: 'x', stream: 'system', line: 'other' }]), { firstSeq: 1, lastSeq: 1 });

        const head = await store.readLogs(r.id, { limit: 3 });
        assert.deepEqual(head[0], { seq: 1, job: 'test', step: 0, stream: 'stdout', line: 'hello', atMs: 5 });
        assert.equal(head[1]?.line, 'warn: ✓ ünïcode');
        assert.equal(head[2]?.step, undefined);
        const resumed = await store.readLogs(r.id, { afterSeq: 2000, limit: 10_000 });
        assert.deepEqual([resumed.length, resumed[0]?.seq, resumed.at(-1)?.seq], [602, 2001, 2602]);
        const builds = await store.readLogs(r.id, { job: 'build', limit: 10_000 });
        assert.equal(builds.length, 1300);
        assert.ok(builds.every((l, i, all) => l.job === 'build' && (i === 0 || l.seq > all[i - 1]!.seq)));
        await rejectsWith(store.appendLogs('missing', [{ job: 'x', stream: 'stdout', line: 'y' }]), 'STORE_NOT_FOUND');
      });

      it('numbers lines without gaps or repeats when writers append to one run at once', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r = await store.enqueueRun(run(p));
        await Promise.all(
          Array.from({ length: 10 }, (_, w) =>
            (async () => {
              for (let i = 0; i < 5; i++) await store.appendLogs(r.id, [{ job: `j${w}`, stream: 'stdout', line: `${i}a` }, { job: `j${w}`, stream: 'stdout', line: `${i}b` }]);
            })(),
          ),
        );
        const lines = await store.readLogs(r.id, { limit: 1000 });
        assert.deepEqual(lines.map((l) => l.seq), Array.from({ length: 100 }, (_, i) => i + 1));
        // each batch stays together
        for (let i = 0; i < lines.length; i += 2) assert.equal(lines[i]!.line.replace('a', 'b'), lines[i + 1]!.line);
      });

      it('deletes the logs and events of runs finished before the retention cutoff', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const old = await store.enqueueRun(run(p));
        const recent = await store.enqueueRun(run(p));
        const running = await store.enqueueRun(run(p));
        await store.claimNextRun('w');
        await store.claimNextRun('w');
        await store.claimNextRun('w');
        await store.updateRunStatus(old.id, 'success', { atMs: 1_000 });
        await store.updateRunStatus(recent.id, 'success', { atMs: 5_000 });
        for (const r of [old, recent, running]) {
          await store.appendLogs(r.id, [{ job: 'j', stream: 'stdout', line: 'x' }, { job: 'j', stream: 'stdout', line: 'y' }]);
          await store.appendRunEvents(r.id, [{ type: 'log', job: 'j', stream: 'stdout', line: 'x', at: 1 }]);
        }
        assert.deepEqual(await store.deleteLogsBefore(2_000), { runs: 1, lines: 2 });
        assert.deepEqual(await store.readLogs(old.id), []);
        assert.deepEqual(await store.readRunEvents(old.id), []);
        assert.ok((await store.getRun(old.id))?.logsDeletedAtMs !== undefined);
        assert.equal((await store.readLogs(recent.id)).length, 2);
        assert.equal((await store.readLogs(running.id)).length, 2);
        assert.deepEqual(await store.deleteLogsBefore(2_000), { runs: 0, lines: 0 });
      });

      it('stores run events with increasing ids per run for SSE replay', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const r = await store.enqueueRun(run(p));
        const events: RunEvent[] = [
          { type: 'run.started', runId: r.id, pipeline: 'ci', branch: 'main', commit: 'abc', jobs: [], at: 1 },
          { type: 'job.status', job: 'test', status: 'running', attempt: 1, at: 2 },
          { type: 'run.finished', runId: r.id, status: 'success', durationMs: 3, at: 4 },
        ];
        assert.deepEqual(await store.appendRunEvents(r.id, events.slice(0, 2)), [1, 2]);
        assert.deepEqual(await store.appendRunEvents(r.id, events.slice(2)), [3]);
        assert.deepEqual(await store.readRunEvents(r.id), events.map((event, i) => ({ id: i + 1, event })));
        assert.deepEqual((await store.readRunEvents(r.id, { afterId: 1, limit: 1 })).map((e) => e.id), [2]);
      });
    });

    describe('webhook deliveries', () => {
      it('tells a new delivery from a redelivery, and enqueues its runs with it in one transaction', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const delivery = { provider: 'github', deliveryId: 'gh-1', projectId: p.id, payloadHash: 'h1' };
        assert.equal(await store.recordDelivery(delivery), 'new');
        assert.equal(await store.recordDelivery(delivery), 'duplicate');
        assert.equal(await store.recordDelivery({ ...delivery, provider: 'gitea' }), 'new', 'ids are per provider');

        const accepted = await store.acceptDelivery({ ...delivery, deliveryId: 'gh-2', payloadHash: 'h2' }, [run(p, { branch: 'main' }), run(p, { branch: 'dev' })]);
        assert.equal(accepted.outcome, 'new');
        assert.deepEqual(accepted.outcome === 'new' && accepted.runs.map((r) => [r.trigger.branch, r.status]), [
          ['main', 'queued'],
          ['dev', 'queued'],
        ]);
        const again = await store.acceptDelivery({ ...delivery, deliveryId: 'gh-2', payloadHash: 'h2' }, [run(p)]);
        assert.equal(again.outcome, 'duplicate');
        assert.equal(await store.countRuns(), 2, 'a redelivery runs nothing');
        const ping = await store.acceptDelivery({ ...delivery, deliveryId: 'gh-ping' }, []);
        assert.deepEqual(ping, { outcome: 'new', runs: [] });
      });

      it('a body replayed under a new delivery id runs nothing (attacker: same signed body, fresh X-GitHub-Delivery)', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const q = await store.createProject({ name: 'q' });
        const first = await store.acceptDelivery({ provider: 'github', deliveryId: 'real', projectId: p.id, payloadHash: 'body' }, [run(p)]);
        assert.equal(first.outcome, 'new');
        const replay = await store.acceptDelivery({ provider: 'github', deliveryId: 'forged-new-id', projectId: p.id, payloadHash: 'body' }, [run(p)]);
        assert.equal(replay.outcome, 'duplicate');
        const otherProvider = await store.acceptDelivery({ provider: 'gitea', deliveryId: 'another-forge', projectId: p.id, payloadHash: 'body' }, [run(p)]);
        assert.equal(otherProvider.outcome, 'duplicate', 'the same body signed for another provider URL is a replay too');
        assert.equal(await store.countRuns(), 1);
        const other = await store.acceptDelivery({ provider: 'github', deliveryId: 'other-project', projectId: q.id, payloadHash: 'body' }, [run(q)]);
        assert.equal(other.outcome, 'new', 'the window is per project');
      });

      it('stores nothing of a delivery whose runs cannot be enqueued, so its redelivery is new', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const delivery = { provider: 'gitlab', deliveryId: 'gl-1', payloadHash: 'h' };
        await rejectsWith(store.acceptDelivery(delivery, [run(p), { ...run(p), projectId: 'gone' }]), 'STORE_NOT_FOUND');
        assert.equal(await store.countRuns(), 0);
        assert.equal((await store.acceptDelivery(delivery, [run(p)])).outcome, 'new');
      });
    });

    describe('schedule ticks', () => {
      const DAY = 24 * 60 * 60 * 1000;
      const tick = (project: Project, dueAtMs: number, scheduleKey = 'nightly') => ({ scheduleKey, dueAtMs, run: run(project, { event: 'schedule', sender: 'schedule' }) });

      it('claims a tick once with its run; a second claim of it queues nothing; the newest claimed tick is kept', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        const q = await store.createProject({ name: 'q' });
        assert.equal(await store.lastScheduleTick(p.id, 'nightly'), undefined);
        const first = await store.claimScheduleTick(tick(p, 1_000 * DAY));
        assert.equal(first?.status, 'queued');
        assert.equal(first?.trigger.event, 'schedule');
        assert.equal(await store.claimScheduleTick(tick(p, 1_000 * DAY)), undefined, 'the same tick again');
        assert.equal(await store.countRuns(), 1);
        assert.ok(await store.claimScheduleTick(tick(p, 1_001 * DAY)));
        assert.equal(await store.lastScheduleTick(p.id, 'nightly'), 1_001 * DAY);
        // ticks are per schedule and per project
        assert.ok(await store.claimScheduleTick(tick(p, 1_000 * DAY, 'hourly')));
        assert.ok(await store.claimScheduleTick(tick(q, 1_000 * DAY)));
        assert.equal(await store.lastScheduleTick(q.id, 'hourly'), undefined);
        assert.equal(await store.countRuns(), 4);
        await rejectsWith(store.claimScheduleTick({ scheduleKey: 'nightly', dueAtMs: 0, run: { ...run(p), projectId: 'gone' } }), 'STORE_NOT_FOUND');
      });

      it('keeps a day of claimed ticks, each with its run', async () => {
        const target = await fresh();
        const { store } = target;
        const p = await store.createProject({ name: 'p' });
        const runs = [];
        for (const due of [0, DAY / 2, 3 * DAY]) runs.push(await store.claimScheduleTick(tick(p, 1_000 * DAY + due)));
        const rows = await target.raw('SELECT due_at, run_id FROM schedule_ticks ORDER BY due_at');
        assert.deepEqual(rows.map((r) => Number(r.due_at)), [1_003 * DAY], 'ticks more than a day before the newest are gone');
        assert.equal(rows[0]?.run_id, runs[2]?.id);
        assert.equal(await store.claimScheduleTick(tick(p, 1_003 * DAY)), undefined);
      });

      it('replicas claiming one tick at once queue exactly one run', async () => {
        const target = await fresh();
        const { store } = target;
        const peer = h.sharedDatabase ? await target.reopen() : store;
        const p = await store.createProject({ name: 'p' });
        const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? peer : store).claimScheduleTick(tick(p, 1_000 * DAY))));
        assert.equal(claims.filter((r) => r !== undefined).length, 1);
        assert.equal(await store.countRuns(), 1);
        assert.equal(await peer.lastScheduleTick(p.id, 'nightly'), 1_000 * DAY);
      });
    });

    describe('transactions', () => {
      it('commits all of a transaction or, when it throws, none of it', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'p' });
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.enqueueRun(run(p));
            await tx.appendAudit({ actor: 'a', action: 'x', subject: 's' });
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.equal(await store.countRuns(), 0);
        assert.deepEqual(await store.listAudit(), []);
        const made = await store.transaction(async (tx) => {
          const r = await tx.enqueueRun(run(p));
          await tx.appendAudit({ actor: 'a', action: 'run.create', subject: r.id });
          return r;
        });
        assert.equal((await store.getRun(made.id))?.status, 'queued');
        // the store is usable while and after transactions go on
        const [, count] = await Promise.all([
          store.transaction(async (tx) => tx.enqueueRun(run(p))),
          store.countRuns(),
        ]);
        assert.ok(count >= 1);
      });
    });

    describe('revisions, DORA and audit', () => {
      it('records and updates revisions and lists them newest first', async () => {
        const { store } = await fresh();
        await store.recordRevision({
          app: 'shop',
          environment: 'production',
          number: 1,
          image: 'reg/shop@sha256:1',
          outcome: 'in-progress',
          trigger: { kind: 'pipeline', by: 'alice' },
          commit: 'abc',
          createdAtMs: 100,
        });
        await store.recordRevision({
          app: 'shop',
          environment: 'production',
          number: 2,
          image: 'reg/shop@sha256:2',
          outcome: 'in-progress',
          trigger: { kind: 'deploy', by: 'bob' },
          target: 'docker',
          createdAtMs: 200,
        });
        const updated = await store.updateRevision({ app: 'shop', environment: 'production', number: 1 }, { outcome: 'healthy', finishedAtMs: 150 });
        assert.deepEqual(updated, {
          app: 'shop',
          environment: 'production',
          number: 1,
          image: 'reg/shop@sha256:1',
          outcome: 'healthy',
          trigger: { kind: 'pipeline', by: 'alice' },
          commit: 'abc',
          createdAtMs: 100,
          finishedAtMs: 150,
        });
        assert.equal(await store.updateRevision({ app: 'shop', environment: 'production', number: 9 }, { outcome: 'failed' }), undefined);
        assert.deepEqual((await store.listRevisions({ app: 'shop' })).map((r) => r.number), [2, 1]);
        assert.deepEqual(await store.listRevisions({ environment: 'staging' }), []);
        // no target recorded means the default (docker) target
        assert.deepEqual(await store.countRevisions(), [
          { target: 'docker', outcome: 'healthy', count: 1 },
          { target: 'docker', outcome: 'in-progress', count: 1 },
        ]);
      });

      it('computes DORA metrics from production revisions and their runs in a window', async () => {
        const { store } = await fresh();
        const p = await store.createProject({ name: 'shop' });
        const hour = 3_600_000;
        const day = 24 * hour;
        const r = await store.enqueueRun(run(p, { commitTimestampMs: 0 }));
        const rev = (number: number, outcome: 'healthy' | 'failed' | 'rolled-back', finishedAtMs: number, extra = {}) =>
          store.recordRevision({
            app: 'shop',
            environment: 'production',
            number,
            projectId: p.id,
            image: `img:${number}`,
            outcome,
            trigger: { kind: 'pipeline', by: 'x' },
            createdAtMs: finishedAtMs - 60_000,
            finishedAtMs,
            ...extra,
          });
        await rev(1, 'healthy', 2 * hour, { runId: r.id }); // lead time 2 h through the run's commit time
        await rev(2, 'failed', day);
        await rev(3, 'healthy', day + 3 * hour, { commitTimestampMs: day - 1 * hour }); // restores after 3 h; lead 4 h
        await rev(4, 'rolled-back', 2 * day);
        await rev(5, 'healthy', 2 * day + 1 * hour, { commitTimestampMs: 2 * day - 2 * hour }); // restores after 1 h; lead 3 h
        await store.recordRevision({
          app: 'shop', environment: 'staging', number: 1, projectId: p.id, image: 'x', outcome: 'failed',
          trigger: { kind: 'pipeline', by: 'x' }, createdAtMs: 0, finishedAtMs: hour,
        });
        const m = await store.doraMetrics({ projectId: p.id, sinceMs: 0, untilMs: 4 * day });
        assert.equal(m.windowDays, 4);
        assert.equal(m.deployments, 3);
        assert.equal(m.deploymentFrequencyPerDay, 0.75);
        assert.equal(m.leadTimeMedianMs, 3 * hour);
        assert.equal(m.changeFailureRate, 2 / 5);
        assert.equal(m.timeToRestoreMedianMs, 2 * hour);
        const empty = await store.doraMetrics({ app: 'none', sinceMs: 0, untilMs: day });
        assert.deepEqual(empty, { windowDays: 1, deployments: 0, deploymentFrequencyPerDay: 0 });
      });

      it('appends audit events and lists them newest first, by subject, in pages', async () => {
        const { store } = await fresh();
        const first = await store.appendAudit({ actor: 'admin', action: 'token.create', subject: 'token:1', details: { scopes: ['read'] }, atMs: 7 });
        await store.appendAudit({ actor: 'bob', action: 'deploy', subject: 'app:shop' });
        const third = await store.appendAudit({ actor: 'bob', action: 'rollback', subject: 'app:shop' });
        assert.deepEqual(first, { id: first.id, actor: 'admin', action: 'token.create', subject: 'token:1', details: { scopes: ['read'] }, atMs: 7 });
        assert.deepEqual((await store.listAudit()).map((e) => e.action), ['rollback', 'deploy', 'token.create']);
        assert.deepEqual((await store.listAudit({ subject: 'app:shop', limit: 1 })).map((e) => e.action), ['rollback']);
        assert.deepEqual((await store.listAudit({ beforeId: third.id, limit: 1 })).map((e) => e.action), ['deploy']);
      });
    });

    describe('concurrency', () => {
      it('two claimers racing never get the same run, and every run is claimed once', async () => {
        const target = await fresh();
        const { store } = target;
        const peer = h.sharedDatabase ? await target.reopen() : store;
        const p = await store.createProject({ name: 'p' });
        await store.transaction(async (tx) => {
          for (let i = 0; i < 60; i++) await tx.enqueueRun(run(p));
        });
        const claimer = async (s: Store, worker: string): Promise<string[]> => {
          const got: string[] = [];
          for (;;) {
            const r = await s.claimNextRun(worker);
            if (!r) return got;
            got.push(r.id);
          }
        };
        const results = await Promise.all([
          claimer(store, 'a1'),
          claimer(peer, 'b1'),
          claimer(store, 'a2'),
          claimer(peer, 'b2'),
        ]);
        const all = results.flat();
        assert.equal(all.length, 60);
        assert.equal(new Set(all).size, 60, 'no run claimed twice');
        assert.equal(await store.countRuns({ status: 'running' }), 60);
      });

      it('a delivery sent many times at once is new exactly once and enqueues one run', async () => {
        const target = await fresh();
        const { store } = target;
        const peer = h.sharedDatabase ? await target.reopen() : store;
        const p = await store.createProject({ name: 'p' });
        const delivery = { provider: 'github', deliveryId: 'race', projectId: p.id, payloadHash: 'h' };
        const outcomes = await Promise.all(
          Array.from({ length: 16 }, (_, i) => (i % 2 ? peer : store).acceptDelivery(delivery, [run(p)])),
        );
        assert.equal(outcomes.filter((o) => o.outcome === 'new').length, 1);
        assert.equal(await store.countRuns(), 1);
        const records = await Promise.all(
          Array.from({ length: 16 }, (_, i) => (i % 2 ? peer : store).recordDelivery({ ...delivery, deliveryId: 'race-2' })),
        );
        assert.equal(records.filter((o) => o === 'new').length, 1);
      });
    });

    describe('approvals', () => {
      /** A claimed run whose job `ship` waits for approval (deploying to production, 1 h to decide). */
      async function waitingJob(store: Store) {
        const p = await store.createProject({ name: 'p' });
        const r = await store.enqueueRun(run(p));
        await store.claimNextRun('w1');
        await store.upsertJob({ runId: r.id, name: 'test', status: 'success', outputs: { image: 'reg/app@sha256:1' } });
        await store.upsertJob({ runId: r.id, name: 'ship', status: 'waiting', attempt: 0, approval: { environment: 'production', waitingSinceMs: 1000, deadlineMs: 3_601_000 } });
        return r;
      }

      it('parks a run with nothing but waiting jobs, and a decision queues it again with the decision on the job', async () => {
        const { store, reopen } = await fresh();
        const r = await waitingJob(store);
        assert.equal(await store.parkRun(r.id), true);
        const parked = await (await reopen()).getRunDetail(r.id);
        assert.equal(parked?.status, 'waiting', 'a restart finds it waiting');
        assert.equal(parked?.worker, undefined, 'no worker holds it');
        assert.deepEqual(parked?.jobs.find((j) => j.name === 'ship')?.approval, { environment: 'production', waitingSinceMs: 1000, deadlineMs: 3_601_000 });
        const { job, run: queued } = await store.decideJob(r.id, 'ship', { kind: 'approved', by: 'alice', atMs: 5000 });
        assert.deepEqual(job.approval?.decision, { kind: 'approved', by: 'alice', atMs: 5000 });
        assert.equal(queued.status, 'queued');
        const resumed = await store.claimNextRun('w2');
        assert.equal(resumed?.id, r.id);
        assert.equal(resumed?.startedAtMs, parked?.startedAtMs, 'its start is the first one');
        // the engine runs the job: the decision stays on it
        const ran = await store.upsertJob({ runId: r.id, name: 'ship', status: 'running', attempt: 1, startedAtMs: 6000 });
        assert.equal(ran.approval?.decision?.by, 'alice');
      });

      it('decides once: a second decision, or one on a job that does not wait, is STORE_JOB_NOT_WAITING', async () => {
        const { store } = await fresh();
        const r = await waitingJob(store);
        await store.decideJob(r.id, 'ship', { kind: 'rejected', by: 'bob', atMs: 2000, reason: 'not today' });
        await rejectsWith(store.decideJob(r.id, 'ship', { kind: 'approved', by: 'alice', atMs: 3000 }), 'STORE_JOB_NOT_WAITING', /rejected by bob already/);
        await rejectsWith(store.decideJob(r.id, 'test', { kind: 'approved', by: 'alice', atMs: 3000 }), 'STORE_JOB_NOT_WAITING', /is success/);
        await rejectsWith(store.decideJob(r.id, 'nope', { kind: 'approved', by: 'alice', atMs: 3000 }), 'STORE_NOT_FOUND');
        assert.equal(await store.parkRun(r.id), false, 'a run with a decided job is not parked: its engine goes on');
        assert.equal((await store.getRun(r.id))?.status, 'running', 'a decision on a running run does not queue it');
      });

      it('two replicas deciding at once: one wins, and the run is queued once', async () => {
        const target = await fresh();
        const { store } = target;
        const peer = h.sharedDatabase ? await target.reopen() : store;
        const r = await waitingJob(store);
        await store.parkRun(r.id);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? peer : store).decideJob(r.id, 'ship', { kind: 'approved', by: `u${i}`, atMs: 1 })),
        );
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
        const claims = await Promise.all([store.claimNextRun('a'), peer.claimNextRun('b'), store.claimNextRun('c')]);
        assert.equal(claims.filter(Boolean).length, 1, 'the approved run starts once');
      });

      it('expires waiting jobs past their deadline, once, and queues their parked runs', async () => {
        const { store } = await fresh();
        const r = await waitingJob(store);
        await store.parkRun(r.id);
        assert.equal(await store.expireApprovals(3_600_999), 0, 'not yet');
        assert.equal(await store.expireApprovals(3_601_000), 1);
        assert.equal(await store.expireApprovals(3_700_000), 0, 'decided already');
        const detail = await store.getRunDetail(r.id);
        assert.equal(detail?.status, 'queued');
        assert.equal(detail?.jobs.find((j) => j.name === 'ship')?.approval?.decision?.kind, 'expired');
      });

      it('cancelling a waiting run cancels its waiting jobs; a crash leaves no job waiting in an interrupted run', async () => {
        const { store } = await fresh();
        const r = await waitingJob(store);
        await store.parkRun(r.id);
        await store.updateRunStatus(r.id, 'cancelled', { reason: 'cancelled by alice' });
        assert.equal((await store.listJobs(r.id)).find((j) => j.name === 'ship')?.status, 'cancelled');
        const p = await store.getProject('p');
        const other = await store.enqueueRun(run(p!));
        await store.claimNextRun('w1');
        await store.upsertJob({ runId: other.id, name: 'ship', status: 'waiting', attempt: 0, approval: { waitingSinceMs: 1 } });
        await store.markInterrupted('the server stopped');
        assert.equal((await store.listJobs(other.id))[0]?.status, 'cancelled');
      });
    });

    describe('scale', () => {
      it('pages through 10,000 runs fast (keyset pages on an index, any depth)', async () => {
        const { store, raw } = await fresh();
        const a = await store.createProject({ name: 'a' });
        const b = await store.createProject({ name: 'b' });
        const started = performance.now();
        const make = (i: number) => run(i % 4 ? a : b, { branch: i % 10 ? 'main' : 'release' });
        if (h.sharedDatabase) {
          // PostgreSQL: eight lanes overlap their round trips on the pool's connections
          await Promise.all(
            Array.from({ length: 8 }, async (_, lane) => {
              for (let i = lane; i < 10_000; i += 8) await store.enqueueRun(make(i));
            }),
          );
        } else {
          // SQLite: one connection, so one transaction is the fastest way in
          await store.transaction(async (tx) => {
            for (let i = 0; i < 10_000; i++) await tx.enqueueRun(make(i));
          });
        }
        const insertMs = performance.now() - started;
        for (let i = 0; i < 50; i++) await store.claimNextRun('w');
        // a table filled in one go has no planner statistics yet; autovacuum gathers them within a
        // minute on a real server (PostgreSQL), and SQLite's planner needs none for these queries
        await raw('ANALYZE');

        const time = async (fn: () => Promise<unknown>): Promise<number> => {
          const samples: number[] = [];
          for (let i = 0; i < 15; i++) {
            const t = performance.now();
            await fn();
            samples.push(performance.now() - t);
          }
          return samples.sort((x, y) => x - y)[7]!;
        };
        const first = await store.listRuns({ projectId: a.id, limit: 50 });
        assert.equal(first.runs.length, 50);
        let deep = first;
        for (let i = 0; i < 100 && deep.nextCursor; i++) deep = await store.listRuns({ projectId: a.id, limit: 50, cursor: deep.nextCursor });
        assert.ok(deep.nextCursor, 'still more pages after 100');
        const deepCursor = deep.nextCursor!;
        const timings = {
          all: await time(() => store.listRuns({ limit: 50 })),
          project: await time(() => store.listRuns({ projectId: a.id, limit: 50 })),
          projectBranch: await time(() => store.listRuns({ projectId: b.id, branch: 'release', limit: 50 })),
          status: await time(() => store.listRuns({ status: 'running', limit: 50 })),
          deepPage: await time(() => store.listRuns({ projectId: a.id, limit: 50, cursor: deepCursor })),
          countQueued: await time(() => store.countRuns({ status: 'queued' })),
        };
        console.log(`[${name}] 10k runs inserted in ${insertMs.toFixed(0)} ms; median page query ms:`, JSON.stringify(
          Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number(v.toFixed(2))])),
        ));
        for (const [query, ms] of Object.entries(timings)) assert.ok(ms < 50, `${query} took ${ms.toFixed(1)} ms (median) with 10k runs`);
      });
    });
  });
}
