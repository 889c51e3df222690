// A deploy's `host` and `tls` as the compiler hands them to the targets (the broken cases are in
// test/spec-corpus/57-deploy-host-tls.yaml).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployJob } from './model.js';
import { parsePipeline } from './index.js';

function deployOf(yaml: string, job = 'web', warnings: string[] = []): DeployJob['deploy'] {
  const { pipeline, diagnostics } = parsePipeline(`version: 1\nname: shop\njobs:\n${yaml}`, 'slipway.yaml');
  assert.deepEqual(diagnostics.map((d) => `${d.severity} ${d.code}`), warnings.map((code) => `warning ${code}`));
  const found = pipeline?.jobs.find((j) => j.name === job);
  assert.equal(found?.kind, 'deploy');
  return (found as DeployJob).deploy;
}

test('host: one name becomes a list of one, lower-cased', () => {
  const deploy = deployOf('  web:\n    deploy: { environment: production, image: shop:1, port: 8080, host: Shop.Example.TEST }\n');
  assert.deepEqual(deploy.hosts, ['shop.example.test']);
  assert.equal(deploy.tls, undefined);
});

test('host: a list keeps its order, wildcards included, and names listed twice once', () => {
  const deploy = deployOf('  web:\n    deploy: { environment: production, image: shop:1, port: 8080, host: [shop.example.test, "*.shop.example.test", SHOP.example.test] }\n', 'web', ['SPEC_DEPLOY_HOST']);
  assert.deepEqual(deploy.hosts, ['shop.example.test', '*.shop.example.test']);
});

test('tls with certificate and key files is carried to the target; tls: false is no tls', () => {
  const withTls = deployOf('  web:\n    deploy: { environment: production, image: shop:1, port: 8080, host: shop.example.test, tls: { certificate: /etc/tls/shop.pem, key: /etc/tls/shop.key } }\n');
  assert.deepEqual(withTls.tls, { certificate: '/etc/tls/shop.pem', key: '/etc/tls/shop.key' });
  const without = deployOf('  web:\n    deploy: { environment: production, image: shop:1, port: 8080, host: shop.example.test, tls: false }\n');
  assert.equal(without.tls, undefined);
});

test('a deploy without host has no hosts: the environment is reached on its own port only', () => {
  const deploy = deployOf('  web:\n    deploy: { environment: production, image: shop:1, port: 8080 }\n');
  assert.equal(deploy.hosts, undefined);
});

test('two deploy jobs to the same environment may name the same host (one environment, one route)', () => {
  const yaml = [
    '  web:',
    '    deploy: { environment: production, image: shop:1, port: 8080, host: shop.example.test }',
    '  again:',
    '    needs: [web]',
    '    deploy: { environment: production, image: shop:2, port: 8080, host: shop.example.test }',
    '',
  ].join('\n');
  assert.deepEqual(deployOf(yaml, 'again').hosts, ['shop.example.test']);
});

test('a preview environment cannot claim host names (every pull request would claim the same), at the host key', () => {
  const { pipeline, diagnostics } = parsePipeline(
    'version: 1\nname: shop\njobs:\n  preview:\n    deploy: { environment: "pr-${{ pr.number }}", image: shop:1, port: 8080, host: pr.shop.example.test }\n',
    'slipway.yaml',
  );
  assert.equal(pipeline, undefined);
  const error = diagnostics.find((d) => d.code === 'SPEC_DEPLOY_HOST');
  assert.ok(error, JSON.stringify(diagnostics));
  assert.equal(error.severity, 'error');
  assert.match(error.message, /preview environment/);
  assert.equal(error.line, 5);
});
