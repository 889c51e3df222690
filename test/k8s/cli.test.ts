// `slipway deploy | history | status | rollback` drive the kubernetes target the same way as the
// docker one: a deploy block with target kubernetes, the cluster of $KUBECONFIG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/repo.js';
import { images, openCluster } from './support.js';
import { DockerDeployTarget } from '../../src/deploy/docker/index.js';

test('the CLI deploys to Kubernetes, shows history and status, and rolls back', { timeout: 180_000 }, async () => {
  const cluster = await openCluster();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-k8s-cli-'));
  try {
    const namespace = await cluster.createNamespace('cli');
    writeFileSync(
      path.join(dir, 'slipway.yaml'),
      `version: 1
name: web
jobs:
  deploy:
    deploy:
      environment: staging
      target: kubernetes
      image: ${images.healthy}
      replicas: 2
      port: 80
      health: { path: /, interval: 1s }
      strategy: { progressDeadline: 60s }
      kubernetes: { namespace: ${namespace} }
`,
    );
    const env = { KUBECONFIG: cluster.kubeconfigPath, SLIPWAY_HOME: path.join(dir, 'home') };
    const first = await runCli(['deploy', 'staging'], { cwd: dir, env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const second = await runCli(['deploy', 'staging', '--image', images.healthyNext], { cwd: dir, env });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const history = await runCli(['history', 'web', '--env', 'staging'], { cwd: dir, env });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, new RegExp(`1\\s+${images.healthy.replace('.', '\\.')}`));
    assert.match(history.stdout, new RegExp(`2\\s+${images.healthyNext.replace('.', '\\.')}`));
    const status = await runCli(['status', 'web', '--json'], { cwd: dir, env });
    assert.equal(status.code, 0, status.stderr);
    const environments = JSON.parse(status.stdout) as Array<{ target: string; environment: string; current?: { number: number } }>;
    assert.deepEqual(environments.map((e) => [e.target, e.environment, e.current?.number]), [['kubernetes', 'staging', 2]]);
    const back = await runCli(['rollback', 'web', '--env', 'staging'], { cwd: dir, env });
    assert.equal(back.code, 0, back.stdout + back.stderr);
    const after = await runCli(['history', 'web', '--env', 'staging'], { cwd: dir, env });
    assert.match(after.stdout, new RegExp(`3\\s+${images.healthy.replace('.', '\\.')}`));
    const bad = await runCli(['deploy', 'staging', '--target', 'nomad', '--image', 'x'], { cwd: dir, env });
    assert.equal(bad.code, 2);
  } finally {
    // `slipway status` also asks the docker target, which starts its agent for this data dir
    await new DockerDeployTarget({ dataDir: path.join(dir, 'home', 'deploy') }).client.shutdown(true).catch(() => undefined);
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
