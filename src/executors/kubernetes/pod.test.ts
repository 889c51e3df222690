// What the Kubernetes executor sends to the cluster, checked without one: names and labels the API
// accepts whatever users call their runs and jobs, no secret value in the Pod, env values that
// reach a step exactly as written, and failures of a Pod explained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { SandboxSpec } from '../types.js';
import { exitCodeOf } from './exec.js';
import { labelValue, ownerLabel, podName, secretKey, serviceContainerName, workspacePath } from './names.js';
import { buildPod, buildSecret, CHECKOUT_SCRIPT, IDLE_SCRIPT, sandboxObjects, stepCommand } from './pod.js';
import { podFailure, unschedulableReason, type PodRef } from './wait.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const HOSTILE = ['build (os=a b)', 'build (os=a_b)', '../../etc/passwd', "x'; rm -rf / #", '-rf', '$(id)', 'ÄÖÜ-名前', '', '---', 'a'.repeat(300), 'UPPER.case_ok'];

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return { runId: 'run-1', jobName: 'build', attempt: 1, image: 'node:20-slipway', env: {}, services: [], ...overrides };
}

test('pod names are DNS-1123 labels of at most 63 characters, distinct for job names that differ only in dropped characters', () => {
  const names = new Set<string>();
  for (const runId of HOSTILE) {
    for (const job of HOSTILE) {
      const name = podName(runId, job, 1);
      assert.match(name, DNS_LABEL, `${JSON.stringify([runId, job])} → ${name}`);
      assert.ok(name.length <= 63);
      assert.ok(name.startsWith('slipway-job-'));
      names.add(name);
    }
  }
  assert.equal(names.size, HOSTILE.length * HOSTILE.length);
  assert.notEqual(podName('r', 'j', 1), podName('r', 'j', 2), 'each attempt has its own pod');
  assert.equal(podName('r', 'j', 1), podName('r', 'j', 1), 'the name is stable');
  for (const service of HOSTILE) assert.match(serviceContainerName(service), DNS_LABEL);
  assert.equal(serviceContainerName('db'), 'svc-db');
});

test('label values are valid whatever the run id and job name; the owner identity becomes host.pid.starttime', () => {
  for (const value of HOSTILE) {
    const label = labelValue(value);
    assert.match(label, LABEL_VALUE, `${JSON.stringify(value)} → ${label}`);
    assert.ok(label.length <= 63);
  }
  assert.equal(labelValue('run-123'), 'run-123', 'a valid value is kept');
  assert.notEqual(labelValue('build (os=a b)'), labelValue('build (os=a_b)'));
  assert.equal(ownerLabel('host-1/4242/98765'), 'host-1.4242.98765');
  const objects = sandboxObjects(spec({ runId: "r'1 $(x)", jobName: 'test (os=a b)' }), 'h/1/2');
  for (const value of Object.values(objects.labels)) assert.match(value, LABEL_VALUE);
  assert.equal(objects.annotations['slipway.dev/owner'], 'h/1/2', 'the annotation keeps the whole identity');
  assert.equal(objects.annotations['slipway.dev/job'], 'test (os=a b)');
});

test('the Pod carries no secret value: secrets and the checkout token reach containers by secretKeyRef', () => {
  const secrets = { NPM_TOKEN: 'npm-s3cret-value', 'odd-name': 'odd-s3cret-value' };
  const s = spec({ secrets, env: { CI: 'true' }, checkout: { url: 'http://10.0.0.1/src.tar', token: 'checkout-s3cret-token' } });
  const objects = sandboxObjects(s, 'h/1/2');
  const { pod } = buildPod(s, objects, { helperImage: 'busybox:1.36' });
  const text = JSON.stringify(pod);
  for (const value of [...Object.values(secrets), 'checkout-s3cret-token']) assert.ok(!text.includes(value), `${value} is in the pod`);
  const job = pod.spec?.containers[0];
  const tokenRef = job?.env?.find((e) => e.name === 'NPM_TOKEN')?.valueFrom?.secretKeyRef;
  assert.deepEqual(tokenRef, { name: objects.secret, key: 'NPM_TOKEN' });
  assert.equal(job?.env?.find((e) => e.name === 'CI')?.value, 'true');

  const secret = buildSecret(s, objects);
  assert.ok(secret?.data);
  for (const key of Object.keys(secret.data)) assert.match(key, SECRET_KEY);
  assert.equal(Buffer.from(secret.data[secretKey('odd-name')] ?? '', 'base64').toString(), 'odd-s3cret-value');
  assert.equal(Buffer.from(secret.data['slipway-checkout-token'] ?? '', 'base64').toString(), 'checkout-s3cret-token');
  assert.equal(new Set(HOSTILE.map(secretKey)).size, HOSTILE.length, 'distinct names get distinct keys');
  for (const name of HOSTILE) assert.match(secretKey(name), SECRET_KEY);
  assert.equal(buildSecret(spec(), objects), undefined, 'no secrets, no checkout: no Secret');

  const init = pod.spec?.initContainers?.[0];
  assert.equal(init?.name, 'checkout');
  assert.deepEqual(init?.env?.find((e) => e.name === 'SLIPWAY_CHECKOUT_TOKEN')?.valueFrom?.secretKeyRef, { name: objects.secret, key: 'slipway-checkout-token' });
  assert.equal(init?.env?.find((e) => e.name === 'SLIPWAY_CHECKOUT_URL')?.value, 'http://10.0.0.1/src.tar');
});

test('the Pod is a one-shot sandbox: no restarts, no service account token, local images, requests = limits', () => {
  const s = spec({
    resources: { cpu: '500m', memory: '256Mi' },
    services: [{ name: 'db', image: 'nginx:1.27-alpine', env: { P: '$(HOME)' }, command: ['httpd', '-f', '-p', '$PORT'] }],
    checkout: { url: 'http://x/y', token: 't' },
  });
  const { pod } = buildPod(s, sandboxObjects(s, 'h/1/2'), { helperImage: 'busybox:1.36' });
  const podSpec = pod.spec;
  assert.ok(podSpec);
  assert.equal(podSpec.restartPolicy, 'Never');
  assert.equal(podSpec.automountServiceAccountToken, false);
  assert.equal(podSpec.enableServiceLinks, false);
  assert.ok((podSpec.terminationGracePeriodSeconds ?? 30) <= 5);
  for (const c of [...(podSpec.initContainers ?? []), ...podSpec.containers]) assert.equal(c.imagePullPolicy, 'IfNotPresent', c.name);
  const [job, db] = podSpec.containers;
  assert.deepEqual(job?.resources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  assert.equal(job?.workingDir, '/workspace');
  assert.deepEqual(job?.volumeMounts, [{ name: 'workspace', mountPath: '/workspace' }]);
  // Kubernetes expands $(VAR) in env, command and args; $$ keeps a literal $
  assert.deepEqual(job?.command, ['sh', '-c', IDLE_SCRIPT.split('$').join('$$')]);
  assert.equal(db?.name, 'svc-db');
  assert.deepEqual(db?.args, ['httpd', '-f', '-p', '$$PORT']);
  assert.equal(db?.env?.[0]?.value, '$$(HOME)');
  assert.deepEqual(podSpec.hostAliases, [{ ip: '127.0.0.1', hostnames: ['db'] }], 'services are reachable by name, as on Docker');
  assert.deepEqual(podSpec.initContainers?.[0]?.command, ['sh', '-c', CHECKOUT_SCRIPT.split('$').join('$$')]);
  assert.equal(buildPod(spec(), sandboxObjects(spec(), 'h/1/2'), { helperImage: 'b' }).pod.spec?.containers[0]?.resources, undefined);
});

test('env names Kubernetes refuses are left out of the Pod and reported', () => {
  const s = spec({ env: { GOOD: '1', 'bad name': '2', '1X': '3', 'a=b': '4' } });
  const { pod, skippedEnv } = buildPod(s, sandboxObjects(s, 'h/1/2'), { helperImage: 'b' });
  assert.deepEqual(pod.spec?.containers[0]?.env?.map((e) => e.name), ['GOOD']);
  assert.deepEqual(skippedEnv.sort(), ['1X', 'a=b', 'bad name']);
});

test('a step env reaches the shell exactly as written, and names that are not identifiers are never spliced into it', () => {
  const values = ["it's", '$(id) `id` $HOME', 'line 1\nline 2', '\\n', '', ' spaced  ', '"; exit 7; "'];
  const env: Record<string, string> = Object.fromEntries(values.map((v, i) => [`V${i}`, v]));
  env['x; touch /tmp/pwned-slipway #'] = 'nope';
  env['A-B'] = 'nope';
  const script = `printf '%s\\000' ${values.map((_, i) => `"$V${i}"`).join(' ')}`;
  const { command, stdin, skipped } = stepCommand(script, env);
  assert.deepEqual(skipped, ['x; touch /tmp/pwned-slipway #', 'A-B']);
  assert.deepEqual(command.slice(0, 3), ['sh', '-e', '-c']);
  const out = execFileSync(command[0] ?? 'sh', command.slice(1), { encoding: 'utf8', env: {}, input: stdin });
  assert.deepEqual(out.split('\0').slice(0, -1), values);
});

test('no env value is on the exec command line (an audit log records it): the values go to stdin, secrets the Pod has not even there', () => {
  const { command, stdin } = stepCommand('echo', { TOKEN: 's3cret', OTHER: 'plain', SHADOW: 'changed' }, { TOKEN: 's3cret', SHADOW: 'orig' });
  const line = command.join(' ');
  for (const value of ['s3cret', 'plain', 'changed']) assert.ok(!line.includes(value), `${value} is not in ${line}`);
  const input = stdin?.toString() ?? '';
  assert.ok(!input.includes('s3cret'), 'a secret the Pod has from its Secret is not sent at all');
  assert.match(input, /OTHER='plain'/);
  assert.match(input, /SHADOW='changed'/);
  assert.deepEqual(stepCommand('exit 3', {}), { command: ['sh', '-e', '-c', 'exit 3'], skipped: [] }, 'no env: the script as it is, no stdin');
});

test('after the env line the step reads an empty stdin, as under docker, whatever else was sent', () => {
  const { command, stdin } = stepCommand('cat; echo "[$A]"\necho done', { A: 'x' });
  const out = execFileSync(command[0] ?? 'sh', command.slice(1), { encoding: 'utf8', env: {}, input: Buffer.concat([stdin ?? Buffer.alloc(0), Buffer.from('not for the step\n')]) });
  assert.equal(out, '[x]\ndone\n');
});

test('archive paths stay inside the workspace', () => {
  assert.equal(workspacePath('/workspace', '.'), '/workspace');
  assert.equal(workspacePath('/workspace', ''), '/workspace');
  assert.equal(workspacePath('/workspace', './dist/'), '/workspace/dist');
  assert.equal(workspacePath('/workspace', '/abs/x'), '/workspace/abs/x');
  assert.equal(workspacePath('/workspace', '-rf'), '/workspace/-rf');
  assert.equal(workspacePath('/workspace', 'a/../b'), '/workspace/b');
  for (const bad of ['..', '../x', 'a/../../x', './..']) assert.throws(() => workspacePath('/workspace', bad), /leaves the workspace/, bad);
});

test('exit codes come from the exec status channel', () => {
  const where = { pod: 'p', container: 'job' };
  assert.equal(exitCodeOf({ status: 'Success' }, where), 0);
  assert.equal(exitCodeOf({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }, where), 3);
  assert.throws(() => exitCodeOf({ status: 'Failure', message: 'container not found ("job")' }, where), /container not found/);
});

test('a Pod that cannot start is explained: the image that cannot be pulled; the scheduler’s reason is read for the wait', async () => {
  const ref: PodRef = { core: {} as CoreV1Api, namespace: 'ns', name: 'p', server: 's', describe: (c) => `container ${c}` };
  const pullFailure: V1Pod = {
    spec: { containers: [{ name: 'job', image: 'nope.invalid/x:1' }] },
    status: { containerStatuses: [{ name: 'job', image: 'nope.invalid/x:1', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'pull failed' } } }] },
  };
  const pull = await podFailure(ref, pullFailure);
  assert.equal(pull?.code, 'EXECUTOR_IMAGE_NOT_FOUND');
  assert.match(pull?.message ?? '', /nope\.invalid\/x:1.*ErrImagePull/);
  const unschedulable: V1Pod = {
    spec: { containers: [{ name: 'job', image: 'i' }] },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] },
  };
  assert.equal(await podFailure(ref, unschedulable), undefined, 'an unschedulable Pod may still get a node: waitForPodStart waits for one, bounded');
  assert.equal(unschedulableReason(unschedulable), '0/1 nodes are available: 1 Insufficient cpu.');
  assert.equal(unschedulableReason(pullFailure), undefined);
  assert.equal(await podFailure(ref, { spec: { containers: [] }, status: { phase: 'Pending' } }), undefined);
});
