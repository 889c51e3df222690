// Nodes pull from Slipway's registry: a deploy of an image in it makes the environment's image pull
// secret (a pull-only credential for that one repository) and names it in the pod template, and on
// a real cluster (KUBECONFIG) the kubelet pulls the image with it from the registry on loopback,
// which refuses anonymous pulls. The credential cannot push or pull anything else; it is renewed
// once past half its lifetime; images from elsewhere get no secret; removing the environment removes it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { createKubernetesTarget } from '../../src/deploy/kubernetes/index.js';
import type { RegistryPullAccess } from '../../src/deploy/index.js';
import { ADMIN, basic, call, pushBlob, sha256, startRegistry, type TestRegistry } from '../registry/support.js';
import { testServer, type TestServer } from '../server/support.js';
import { deployRequest, deploySpec } from './deploy-support.js';
import { images, kubectl, onRealCluster, openCluster, type TestCluster } from './support.js';

const run = promisify(execFile);
const SECRET = 'slipway-pull-web-production';

/**
 * An image that serves HTTP on :80 in the registry: the Docker engine's busybox copied in with
 * skopeo, its config's command changed to busybox httpd (a new config blob and manifest). A label
 * unique to each call gives it a digest no node has pulled before, so the kubelet must pull it.
 */
async function pushServingImage(reg: { host: string; url: string }, repository: string, secret = ADMIN): Promise<string> {
  await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `ci:${secret}`, 'docker-daemon:busybox:latest', `docker://${reg.host}/${repository}:base`]);
  const authorization = basic(secret);
  const get = (p: string, accept = '*/*') => fetch(`${reg.url}/v2/${repository}/${p}`, { headers: { authorization, accept } });
  const res = await get('manifests/base', 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json');
  const mediaType = res.headers.get('content-type') ?? 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = (await res.json()) as { config: { mediaType: string; digest: string; size: number } };
  const config = (await (await get(`blobs/${manifest.config.digest}`)).json()) as { config: Record<string, unknown> };
  config.config.Cmd = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www'];
  config.config.Labels = { 'dev.slipway.test': randomBytes(8).toString('hex') };
  const configBytes = JSON.stringify(config);
  const upload = await fetch(`${reg.url}/v2/${repository}/blobs/uploads/?digest=${sha256(configBytes)}`, { method: 'POST', headers: { authorization, 'content-type': 'application/octet-stream' }, body: configBytes });
  assert.equal(upload.status, 201, await upload.text());
  const bytes = JSON.stringify({ ...manifest, config: { ...manifest.config, digest: sha256(configBytes), size: Buffer.byteLength(configBytes) } });
  const put = await fetch(`${reg.url}/v2/${repository}/manifests/v1`, { method: 'PUT', headers: { authorization, 'content-type': mediaType }, body: bytes });
  assert.equal(put.status, 201, await put.text());
  return `${reg.host}/${repository}@${sha256(bytes)}`;
}

function credentialOf(secret: V1Secret, host: string): { username: string; password: string } {
  const config = JSON.parse(Buffer.from(secret.data?.['.dockerconfigjson'] ?? '', 'base64').toString()) as { auths: Record<string, { username: string; password: string; auth: string }> };
  const entry = config.auths[host];
  assert.ok(entry, `the secret has credentials for ${host}: ${Object.keys(config.auths).join(', ')}`);
  assert.equal(Buffer.from(entry.auth, 'base64').toString(), `${entry.username}:${entry.password}`);
  return entry;
}

describe('kubernetes target: nodes pull from Slipway\'s registry', () => {
  let cluster: TestCluster;
  let reg: TestRegistry;
  let image: string;
  let access: RegistryPullAccess;
  before(async () => {
    cluster = await openCluster();
    reg = await startRegistry();
    image = await pushServingImage(reg, 'shop/web');
    access = { host: reg.host, pullCredential: (repository) => reg.registry.pullCredential(repository, 3_600_000) };
  });
  after(async () => {
    await cluster.close();
    await reg.close();
  });
  const target = async (withAccess = true) => createKubernetesTarget({ dataDir: await mkdtemp(path.join(cluster.dir, 'data-')), kubeconfig: cluster.kubeconfigPath, ...(withAccess ? { registry: access } : {}) });

  test('a deploy of an image in the registry becomes Ready through a pull secret holding a credential that can only pull that repository', async () => {
    const anonymous = await call(reg, 'GET', `/v2/shop/web/manifests/v1`, { headers: { authorization: '' } });
    assert.equal(anonymous.status, 401, 'the registry refuses anonymous pulls');
    await anonymous.arrayBuffer();

    const ns = await cluster.createNamespace('pull');
    const t = await target();
    const lines: string[] = [];
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 1 }), image, lines));
    assert.equal(outcome.outcome, 'healthy', `${outcome.reason}\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => l.startsWith(`secret/${SECRET}: a pull-only credential for ${reg.host}/shop/web, valid until`)), lines.join('\n'));

    const deployment = await cluster.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.deepEqual(deployment.spec?.template.spec?.imagePullSecrets?.map((s) => s.name), [SECRET]);
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const secret = await core.readNamespacedSecret({ name: SECRET, namespace: ns });
    assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
    assert.equal(secret.metadata?.labels?.['app.kubernetes.io/managed-by'], 'slipway');
    assert.equal(secret.metadata?.annotations?.['slipway.dev/pull-repository'], 'shop/web');
    if (onRealCluster) {
      // the kubelet pulled it from the registry on loopback: the pod runs that very digest
      const pods = await core.listNamespacedPod({ namespace: ns });
      assert.ok(pods.items.some((p) => p.status?.containerStatuses?.some((c) => c.ready && c.imageID.endsWith(image.split('@')[1] ?? '?'))), JSON.stringify(pods.items.map((p) => p.status?.containerStatuses)));
    }

    // what the secret holds, used as an attacker would: pull shop/web, nothing more
    const { username, password } = credentialOf(secret, reg.host);
    const auth = { authorization: basic(password, username) };
    const pull = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: auth });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const push = await call(reg, 'POST', `/v2/shop/web/blobs/uploads/?digest=${sha256('x')}`, { body: 'x', headers: auth });
    assert.equal(push.status, 403, 'it cannot push');
    await push.arrayBuffer();
    await pushBlob(reg, 'shop/other', 'another repository');
    const other = await call(reg, 'GET', `/v2/shop/other/blobs/${sha256('another repository')}`, { headers: auth });
    assert.equal(other.status, 403, 'it cannot pull another repository');
    await other.arrayBuffer();
    const api = await call(reg, 'GET', '/v2/_catalog', { headers: auth });
    assert.equal(api.status, 403, 'it cannot list the registry');
    await api.arrayBuffer();
  });

  test('without the pull secret the kubelet cannot pull the image (real cluster)', { skip: !onRealCluster && 'the double\'s kubelet pulls nothing' }, async () => {
    const ns = await cluster.createNamespace('pull-none');
    const t = await target(false);
    const unpulled = await pushServingImage(reg, 'shop/private');
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 1 }, { progressDeadlineMs: 10_000, autoRollback: false }), unpulled));
    assert.equal(outcome.outcome, 'failed');
    assert.match(outcome.reason ?? '', /ErrImagePull|ImagePullBackOff/);
    assert.match(outcome.reason ?? '', /401|nauthorized|authorization/);
  });

  test('the credential is renewed once past half its lifetime, not before; images from elsewhere get no secret; remove deletes it', async () => {
    const ns = await cluster.createNamespace('pull-renew');
    const t = await target();
    const first = await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 1 }), image));
    assert.equal(first.outcome, 'healthy', first.reason);
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const before = credentialOf(await core.readNamespacedSecret({ name: SECRET, namespace: ns }), reg.host).password;

    const problems: string[] = [];
    await t.renewCredentials(problems.push.bind(problems));
    assert.equal(credentialOf(await core.readNamespacedSecret({ name: SECRET, namespace: ns }), reg.host).password, before, 'a fresh credential is kept');

    // issued two hours ago for an hour: past half its lifetime (expired, even)
    const r = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'annotate', '--overwrite', `secret/${SECRET}`, `slipway.dev/pull-issued-at=${new Date(Date.now() - 7_200_000).toISOString()}`, `slipway.dev/pull-expires-at=${new Date(Date.now() - 3_600_000).toISOString()}`]);
    assert.equal(r.code, 0, r.stderr);
    await t.renewCredentials(problems.push.bind(problems));
    assert.deepEqual(problems, []);
    const renewed = await core.readNamespacedSecret({ name: SECRET, namespace: ns });
    assert.notEqual(credentialOf(renewed, reg.host).password, before);
    assert.ok(Date.parse(renewed.metadata?.annotations?.['slipway.dev/pull-expires-at'] ?? '') > Date.now() + 3_000_000);
    const pull = await call(reg, 'GET', '/v2/shop/web/manifests/v1', { headers: { authorization: basic(credentialOf(renewed, reg.host).password, 'slipway-pull') } });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();

    // an image from elsewhere: no secret for that environment, none named in its pods
    const staging = await t.deploy(deployRequest('web', deploySpec(ns, { environment: 'staging', replicas: 1 }), images.healthy));
    assert.equal(staging.outcome, 'healthy', staging.reason);
    await assert.rejects(core.readNamespacedSecret({ name: 'slipway-pull-web-staging', namespace: ns }), (err: unknown) => (err as { code?: number }).code === 404);
    const d = await cluster.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web-staging', namespace: ns });
    assert.equal(d.spec?.template.spec?.imagePullSecrets, undefined);

    assert.equal(await t.remove('web', 'production'), true);
    await assert.rejects(core.readNamespacedSecret({ name: SECRET, namespace: ns }), (err: unknown) => (err as { code?: number }).code === 404);
  });
});

describe('through the server: its registry, its API and the kubernetes target together', () => {
  let cluster: TestCluster;
  let server: TestServer;
  const kubeconfigBefore = process.env.KUBECONFIG;
  before(async () => {
    cluster = await openCluster();
    // the server's kubernetes target reads the cluster of KUBECONFIG, as `slipway server` does
    process.env.KUBECONFIG = cluster.kubeconfigPath;
    server = await testServer({ config: { schedules: false } });
  });
  after(async () => {
    await server.stop();
    if (kubeconfigBefore === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfigBefore;
    await cluster.close();
  });

  type Rollout = { id: string; kind: string; status: string; outcome?: { revision: { number: number }; sync?: { corrected: Array<{ path: string }> } }; error?: { code: string; message: string } };
  type Failure = { error: { code: string; message: string; fields?: Array<{ field: string; message: string }> } };
  type Status = { environments: Array<{ drift?: { revision: number; fields: Array<{ message: string }> } }> };

  test('an image pushed to the server\'s registry deploys through the API with a pull secret; drift shows in GET /api/status and {"sync": true} puts it back, audited, adding no revision', async () => {
    const host = new URL(server.url).host;
    const image = await pushServingImage({ host, url: server.url }, 'shop/api', server.token);
    const ns = await cluster.createNamespace('pull-server');
    const deploy = (body: unknown, token?: string) => server.api<Rollout & Failure>('/api/apps/web/environments/production/deploy', { method: 'POST', body, ...(token !== undefined ? { token } : {}) });
    const never = await deploy({ sync: true });
    assert.equal(never.status, 404, JSON.stringify(never.body));
    assert.equal(never.body.error.code, 'ROLLOUT_NO_REVISION');

    const started = await deploy({ image, target: 'kubernetes', replicas: 1, port: 80, health: { path: '/', interval: '1s', healthy: 1 }, kubernetes: { namespace: ns } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await server.rolloutEnded<Rollout>(started.body.id, 170_000);
    assert.equal(done.status, 'healthy', JSON.stringify(done));
    const secret = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedSecret({ name: SECRET, namespace: ns });
    const { password } = credentialOf(secret, host);
    const push = await fetch(`${server.url}/v2/shop/api/blobs/uploads/`, { method: 'POST', headers: { authorization: basic(password, 'slipway-pull') } });
    assert.equal(push.status, 403, 'the secret\'s credential cannot push to the server\'s registry');
    await push.arrayBuffer();
    const asApi = await fetch(`${server.url}/api/status`, { headers: { authorization: basic(password, 'slipway-pull') } });
    assert.equal(asApi.status, 401, 'nor is it a token of the API');
    await asApi.arrayBuffer();

    await kubectl(cluster.kubeconfigPath, ['-n', ns, 'scale', 'deployment/web-production', '--replicas=2']);
    const drifted = await server.api<Status>('/api/status?app=web&environment=production');
    assert.deepEqual(drifted.body.environments[0]?.drift, { revision: 1, fields: [{ object: 'deployment/web-production', path: 'spec.replicas', live: 2, revision: 1, message: 'spec.replicas: 2 (revision says 1)' }] });

    // bad input changes nothing and names each field
    const mixed = await deploy({ sync: true, image, replicas: 3 });
    assert.equal(mixed.status, 422, JSON.stringify(mixed.body));
    assert.deepEqual(mixed.body.error.fields?.map((f) => f.field), ['image', 'replicas']);
    const notBoolean = await deploy({ sync: 'yes' });
    assert.equal(notBoolean.status, 422);
    assert.deepEqual(notBoolean.body.error.fields?.map((f) => f.field), ['image', 'sync'], 'not a sync, so a deploy, which needs an image');
    const reader = (await server.store.createToken({ name: 'reader', scopes: ['read'] })).secret;
    assert.equal((await deploy({ sync: true }, reader)).status, 403);
    assert.equal((await server.api<Status>('/api/status?app=web&environment=production')).body.environments[0]?.drift?.fields.length, 1);

    const sync = await deploy({ sync: true });
    assert.equal(sync.status, 202, JSON.stringify(sync.body));
    assert.equal(sync.body.kind, 'sync');
    const synced = await server.rolloutEnded<Rollout>(sync.body.id, 170_000);
    assert.equal(synced.status, 'healthy', JSON.stringify(synced));
    assert.deepEqual(synced.outcome?.sync?.corrected.map((f) => f.path), ['spec.replicas']);
    assert.equal(synced.outcome?.revision.number, 1);
    assert.deepEqual((await server.api<Status>('/api/status?app=web&environment=production')).body.environments[0]?.drift, { revision: 1, fields: [] });
    const history = await server.api<{ revisions: unknown[] }>('/api/apps/web/environments/production/revisions');
    assert.equal(history.body.revisions.length, 1, 'a sync adds no revision');
    const audit = await server.store.listAudit({ subject: 'web/production' });
    assert.ok(audit.some((a) => a.action === 'sync' && a.actor === 'admin' && a.details?.rollout === sync.body.id), JSON.stringify(audit));
  });
});
