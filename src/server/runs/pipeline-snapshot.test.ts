import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineSnapshotOf } from './pipeline-snapshot.js';

test('a stored snapshot of a pushed file is read back as it was', () => {
  assert.deepEqual(pipelineSnapshotOf({ pipeline: { file: 'slipway.yaml', text: 'name: ci\n' } }), { file: 'slipway.yaml', text: 'name: ci\n' });
});

test('a webhook snapshot keeps where to fetch from and where to report to', () => {
  const stored = { file: 'slipway.yaml', remote: 'https://git.example/a/b.git', ref: 'refs/heads/main', repository: 'a/b', provider: 'gitea' };
  assert.deepEqual(pipelineSnapshotOf({ pipeline: stored }), stored);
});

test('null fields of a stored snapshot count as absent, unknown fields are dropped', () => {
  assert.deepEqual(pipelineSnapshotOf({ pipeline: { file: 'slipway.yaml', text: null, repository: null, provider: null, extra: 1 } }), { file: 'slipway.yaml' });
});

test('what is not a snapshot is not read as one', () => {
  for (const pipeline of [undefined, null, 'slipway.yaml', [], {}, { file: 3 }, { name: 'ci', jobs: [] }, { file: 'slipway.yaml', text: 42 }, { file: 'slipway.yaml', provider: 'bitbucket' }]) {
    assert.equal(pipelineSnapshotOf({ pipeline }), undefined, JSON.stringify(pipeline));
  }
});
