// The Kubernetes executor on a real cluster (KUBECONFIG; skipped without one: the API server double
// has no exec), driven directly as the engine drives it: a sandbox, archives in and out, steps in
// order, destroy. Each test works in the namespace the executor creates for this file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { ExecutorError, type Sandbox, type SandboxSpec } from '../../src/executors/index.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/index.js';
import { eventually, images, onRealCluster, openCluster, type TestCluster } from '../k8s/support.js';
import { capture, checkoutServer, filesOf, jobSpec, readableOf, step, tarOf } from './helpers.js';

function isExecutorError(code: ExecutorError['code'], pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ExecutorError, `expected an ExecutorError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('kubernetes executor', { skip: !onRealCluster && 'needs a real cluster: set KUBECONFIG' }, () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let executor: KubernetesExecutor;
  let namespace: string;
  const open: Sandbox[] = [];

  before(async () => {
    cluster = await openCluster();
    core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    namespace = `slipway-kx-${randomBytes(3).toString('hex')}`;
    executor = new KubernetesExecutor({ kubeConfig: cluster.kubeConfig(), namespace });
  });
  after(async () => {
    await Promise.all(open.map((s) => s.destroy().catch(() => undefined)));
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
    await cluster?.close();
  });

  async function sandboxOf(spec: SandboxSpec, info: string[] = [], signal = new AbortController().signal): Promise<Sandbox> {
    const sandbox = await executor.createSandbox(spec, { info: (line) => info.push(line) }, signal);
    open.push(sandbox);
    return sandbox;
  }

  function podNameOf(sandbox: Sandbox): string {
    return (sandbox as Sandbox & { objects: { pod: string } }).objects.pod;
  }

  const podExists = (name: string) => core.readNamespacedPod({ name, namespace }).then(() => true, () => false);
  const secretExists = (name: string) => core.readNamespacedSecret({ name, namespace }).then(() => true, () => false);

  test('steps run in order in one workspace (the namespace is created), with live output that a slow reader slows down without loss, exit codes and sh -e', async () => {
    const sandbox = await sandboxOf(jobSpec({ env: { JOB_LEVEL: 'from the job' } }));
    assert.equal(sandbox.workspace, '/workspace');
    assert.ok(!sandbox.hasWorkspace, 'without checkout the engine puts the source in');
    const first = await step(sandbox, 'pwd; echo "$JOB_LEVEL/$STEP_LEVEL" > made-by-step-1', { STEP_LEVEL: 'step one' });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, '/workspace\n');
    const second = await step(sandbox, 'cat made-by-step-1; echo "[$STEP_LEVEL]"; echo to-stderr >&2');
    assert.deepEqual([second.code, second.stdout, second.stderr], [0, 'from the job/step one\n[]\n', 'to-stderr\n'], 'a step env is its own');

    const started = Date.now();
    const live = await step(sandbox, 'echo first; sleep 2; echo second');
    assert.equal(live.code, 0);
    const firstWrite = live.out.writes.find((w) => w.text.includes('first'));
    assert.ok(firstWrite && Date.now() - firstWrite.at >= 1500, `"first" arrived ${firstWrite ? firstWrite.at - started : '?'} ms after the start, before the step ended`);

    // a slow reader: the socket pauses while the destination is full, and nothing is lost
    let received = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        setTimeout(callback, 1);
      },
    });
    const flood = await sandbox.exec("head -c 2000000 /dev/zero | tr '\\0' a", {}, { stdout: slow, stderr: capture().stream }, new AbortController().signal);
    assert.deepEqual([flood, received], [0, 2_000_000]);

    assert.equal((await step(sandbox, 'exit 3')).code, 3);
    const stopped = await step(sandbox, 'echo before; false; echo after');
    assert.deepEqual([stopped.code, stopped.stdout], [1, 'before\n'], 'sh -e stops at the first failing command');
  });

  test('archives go in and come out as the engine moves sources, artifacts and caches (the last segment at the root)', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const source = await tarOf({ 'README.md': 'hello\n', 'dist/app/index.js': 'console.log(1)\n', 'dist/app/nested/deep/data.bin': big });
    const file = path.join(cluster.dir, 'source.tar');
    await writeFile(file, source);
    const sandbox = await sandboxOf(jobSpec());
    await sandbox.putArchive(createReadStream(file), '.');
    const listed = await step(sandbox, 'cat README.md; wc -c < dist/app/nested/deep/data.bin');
    assert.deepEqual([listed.code, listed.stdout.replace(/ +/g, '')], [0, `hello\n${big.length}\n`], listed.stderr);

    const artifact = await sandbox.getArchive('dist/app');
    assert.ok(artifact);
    const files = await filesOf(artifact);
    assert.equal(files.get('app/index.js')?.toString(), 'console.log(1)\n');
    assert.ok(files.get('app/nested/deep/data.bin')?.equals(big), 'the big file comes back whole');
    assert.ok([...files.keys()].every((name) => name.startsWith('app/')), [...files.keys()].join(', '));

    // a restore, as the engine does it: into parentOf(path), here from a stream that is not a file
    await sandbox.putArchive(readableOf(await tarOf({ 'app/nested/deep/restored.txt': 'restored\n' })), 'restored/dist');
    const restored = await step(sandbox, 'cat restored/dist/app/nested/deep/restored.txt');
    assert.deepEqual([restored.code, restored.stdout], [0, 'restored\n'], restored.stderr);
    const single = await sandbox.getArchive('./README.md');
    assert.ok(single);
    assert.equal((await filesOf(single)).get('README.md')?.toString(), 'hello\n');

    assert.equal(await sandbox.getArchive('not/there'), undefined);
    await assert.rejects(sandbox.putArchive(readableOf(source), '../outside'), isExecutorError('EXECUTOR_FAILED', /leaves the workspace/));
  });

  test('a service runs beside the job: healthy before the first step, reachable on localhost and by its name', async () => {
    const info: string[] = [];
    const sandbox = await sandboxOf(
      jobSpec({
        services: [{ name: 'web', image: images.healthy, env: {}, health: { cmd: 'wget -q -O /dev/null http://localhost:80/', intervalMs: 300, timeoutMs: 5000, retries: 40 } }],
      }),
      info,
    );
    assert.ok(info.includes(`starting service web (${images.healthy})`), info.join('\n'));
    assert.ok(info.includes('service web is healthy'), info.join('\n'));
    const fetched = await step(sandbox, 'wget -q -O - http://localhost:80/ >/dev/null && wget -q -O - http://web:80/ | head -c 200');
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.ok(fetched.stdout.length > 0);
  });

  test('a service that stops before it is healthy fails the sandbox with its last log lines', async () => {
    const spec = jobSpec({
      services: [{ name: 'db', image: 'busybox:1.36', env: {}, command: ['sh', '-c', 'echo db-cannot-start; exit 4'], health: { cmd: 'true', intervalMs: 200, timeoutMs: 2000, retries: 20 } }],
    });
    await assert.rejects(sandboxOf(spec), isExecutorError('EXECUTOR_SERVICE_UNHEALTHY', /service db stopped before it became healthy \(exit code 4[^]*db-cannot-start/));
  });

  test('secrets live in a per-attempt Secret: not in the Pod spec, in the step env, removed with the sandbox', async () => {
    const value = `tok-${randomBytes(8).toString('hex')}`;
    const spec = jobSpec({ secrets: { API_TOKEN: value } });
    const sandbox = await sandboxOf(spec);
    const name = podNameOf(sandbox);
    const pod = await core.readNamespacedPod({ name, namespace });
    assert.ok(!JSON.stringify(pod).includes(value), 'the secret value is not in the Pod');
    const secret = await core.readNamespacedSecret({ name: `${name}-secrets`, namespace });
    assert.equal(secret.metadata?.ownerReferences?.[0]?.uid, pod.metadata?.uid, 'the Pod owns its Secret');
    // the engine passes secrets with every step's env
    const seen = await step(sandbox, 'printf %s "$API_TOKEN"', { API_TOKEN: value, OTHER: 'x' });
    assert.deepEqual([seen.code, seen.stdout], [0, value]);
    await sandbox.destroy();
    await sandbox.destroy();
    assert.equal(await podExists(name), false, 'the Pod is gone');
    await eventually('the Secret to be deleted', async () => ((await secretExists(`${name}-secrets`)) ? undefined : true), 10_000);
  });

  test('resources are requests and limits of the job container', async () => {
    const sandbox = await sandboxOf(jobSpec({ resources: { cpu: '100m', memory: '64Mi' } }));
    const pod = await core.readNamespacedPod({ name: podNameOf(sandbox), namespace });
    const job = pod.spec?.containers.find((c) => c.name === 'job');
    assert.deepEqual(JSON.parse(JSON.stringify(job?.resources)), { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } });
  });

  test("a job that asks for more than any node has fails once the schedule timeout has passed, with the scheduler's reason", async () => {
    const impatient = new KubernetesExecutor({ kubeConfig: cluster.kubeConfig(), namespace, scheduleTimeoutMs: 2000 });
    const info: string[] = [];
    const started = Date.now();
    await assert.rejects(
      impatient.createSandbox(jobSpec({ resources: { cpu: '500', memory: '64Mi' } }), { info: (line) => info.push(line) }, new AbortController().signal),
      isExecutorError('EXECUTOR_FAILED', /no node can run the job's pod \S+ \(waited 2s\): [^]*Insufficient cpu/),
    );
    const took = Date.now() - started;
    assert.ok(took >= 2000 && took < 20_000, `took ${took} ms`);
    assert.ok(info.some((line) => /^waiting up to 2s for a node to run the job's pod: [^]*Insufficient cpu/.test(line)), info.join('\n'));
  });

  test('a job Pod no node fits yet waits for one, saying why, and starts when a running job frees the node', async () => {
    // what the node has left, whatever the suite's other open sandboxes hold
    const node = (await core.listNode()).items[0];
    const allocatable = cpuMillis(node?.status?.allocatable?.cpu ?? '0');
    const pods = (await core.listPodForAllNamespaces()).items.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
    const requested = pods.flatMap((p) => p.spec?.containers ?? []).reduce((sum, c) => sum + cpuMillis(c.resources?.requests?.cpu ?? '0'), 0);
    const cpu = `${Math.floor((allocatable - requested) * 0.6)}m`;
    const hog = await sandboxOf(jobSpec({ resources: { cpu, memory: '32Mi' } }));
    const info: string[] = [];
    const second = sandboxOf(jobSpec({ resources: { cpu, memory: '32Mi' } }), info);
    second.catch(() => undefined);
    await eventually('the second job to wait for a node', async () => info.some((line) => /^waiting up to 3m for a node to run the job's pod: [^]*Insufficient cpu/.test(line)) || undefined, 60_000);
    await hog.destroy();
    assert.equal((await step(await second, 'echo got a node')).stdout, 'got a node\n');
  });

  test('an abort during a long step settles the exec within seconds and deletes the Pod', async () => {
    const sandbox = await sandboxOf(jobSpec());
    const name = podNameOf(sandbox);
    const controller = new AbortController();
    const out = capture();
    const running = sandbox.exec('echo started; sleep 300', {}, { stdout: out.stream, stderr: capture().stream }, controller.signal);
    await eventually('the step to start', async () => (out.text().includes('started') ? true : undefined));
    const aborted = Date.now();
    controller.abort(new Error('cancelled by the test'));
    await assert.rejects(running, /cancelled by the test/);
    assert.ok(Date.now() - aborted < 3000, `settled after ${Date.now() - aborted} ms`);
    await eventually('the Pod to be deleted', async () => ((await podExists(name)) ? undefined : true), 10_000);
    await sandbox.destroy();
  });

  test("reapOrphans deletes the pods and secrets of a dead process on this host, and of owners named gone, and leaves a live one's", async () => {
    const live = await sandboxOf(jobSpec({ secrets: { S: 'v' } }));
    const dead = `${hostname()}/999999/1`;
    const metadata = (name: string) => ({
      name,
      labels: { 'slipway.dev/managed': 'true', 'slipway.dev/owner': dead.replaceAll('/', '.') },
      annotations: { 'slipway.dev/owner': dead },
    });
    await core.createNamespacedPod({
      namespace,
      body: { metadata: metadata('slipway-job-orphan'), spec: { containers: [{ name: 'job', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] } },
    });
    await core.createNamespacedSecret({ namespace, body: { metadata: metadata('slipway-job-orphan-secrets'), stringData: { S: 'v' } } });
    assert.deepEqual(await executor.reapOrphans(), { containers: 1, networks: 0, volumes: 1 });
    assert.equal(await podExists('slipway-job-orphan'), false);
    assert.equal(await secretExists('slipway-job-orphan-secrets'), false);
    assert.equal(await podExists(podNameOf(live)), true, 'the live sandbox is left alone');
    assert.equal(await secretExists(`${podNameOf(live)}-secrets`), true);
    assert.equal((await step(live, 'echo still here')).stdout, 'still here\n');

    // a replica on another host cannot be judged from here: only its silent heartbeat names it gone
    const elsewhere = 'another-node/42/1';
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'slipway-job-elsewhere', labels: { 'slipway.dev/managed': 'true' }, annotations: { 'slipway.dev/owner': elsewhere } },
        spec: { containers: [{ name: 'job', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
      },
    });
    assert.deepEqual(await executor.reapOrphans(), { containers: 0, networks: 0, volumes: 0 }, 'a live-looking owner elsewhere is left alone');
    assert.deepEqual(await executor.reapOrphans(new Set([elsewhere])), { containers: 1, networks: 0, volumes: 0 });
    assert.equal(await podExists('slipway-job-elsewhere'), false);
    assert.equal(await podExists(podNameOf(live)), true);
  });

  test('an image that does not exist fails quickly with EXECUTOR_IMAGE_NOT_FOUND, naming it, and leaves no pod', async () => {
    const started = Date.now();
    const spec = jobSpec({ image: images.neverPulls });
    await assert.rejects(sandboxOf(spec), isExecutorError('EXECUTOR_IMAGE_NOT_FOUND', new RegExp(images.neverPulls.replaceAll('.', '\\.'))));
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `slipway.dev/run=${spec.runId}` });
    assert.equal(pods.items.length, 0);
  });

  test('checkout: the init container fetches the workspace with the bearer token; a wrong token is a clear error', async () => {
    const token = `ck-${randomBytes(8).toString('hex')}`;
    const server = await checkoutServer(token, await tarOf({ 'README.md': 'checked out\n', 'src/main.txt': 'main\n' }));
    try {
      const sandbox = await sandboxOf(jobSpec({ checkout: { url: server.url, token } }));
      assert.equal(sandbox.hasWorkspace, true);
      const listed = await step(sandbox, 'cat README.md src/main.txt; ls -A');
      assert.deepEqual([listed.code, listed.stdout], [0, 'checked out\nmain\nREADME.md\nsrc\n'], listed.stderr);
      const pod = await core.readNamespacedPod({ name: podNameOf(sandbox), namespace });
      assert.ok(!JSON.stringify(pod).includes(token), 'the token is not in the Pod');
      assert.deepEqual(server.authorizations, [`Bearer ${token}`]);

      await assert.rejects(
        sandboxOf(jobSpec({ checkout: { url: server.url, token: 'wrong' } })),
        isExecutorError('EXECUTOR_FAILED', /checkout of the workspace failed \(exit code 1[^]*401 Unauthorized/),
      );
    } finally {
      await server.close();
    }
  });

  test('hostile run ids, job names and env names: valid names and labels, nothing injected into the shell', async () => {
    const info: string[] = [];
    const sandbox = await sandboxOf(
      jobSpec({ runId: 'run/../$(id) ü', jobName: 'test (os=a b); rm -rf / #' + 'x'.repeat(80), env: { 'bad name': 'v', GOOD: "it's $(id)" } }),
      info,
    );
    assert.ok(info.some((line) => line.includes('bad name')), info.join('\n'));
    const pod = await core.readNamespacedPod({ name: podNameOf(sandbox), namespace });
    assert.equal(pod.metadata?.annotations?.['slipway.dev/job'], 'test (os=a b); rm -rf / #' + 'x'.repeat(80));
    const result = await step(sandbox, 'printf %s "$GOOD"; test ! -e /workspace/pwned', { 'x; touch /workspace/pwned; #': '1', 'A-B': '2' });
    assert.deepEqual([result.code, result.stdout], [0, "it's $(id)"], result.stderr);
  });
});

/** A CPU quantity (2, 500m, 1.5) in millicores. */
function cpuMillis(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}
