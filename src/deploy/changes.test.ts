// The no-op and rollback rules on their own: which revisions run the same thing, and which one a
// rollback without --to restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSameRelease, pinnedDigest, rollbackTarget } from './changes.js';
import { DeployError, type Revision } from './types.js';

const ID_A = `sha256:${'a'.repeat(64)}`;
const ID_B = `sha256:${'b'.repeat(64)}`;

function revision(number: number, image: string, digest: string | undefined, outcome: Revision['outcome'] = 'healthy', replicas = 2): Revision {
  return {
    app: 'web',
    environment: 'production',
    target: 'docker',
    number,
    image,
    ...(digest !== undefined ? { digest } : {}),
    config: { environment: 'production', image, replicas, port: 8080, health: { path: '/healthz', tcp: undefined } } as unknown as Revision['config'],
    trigger: { by: 'test', kind: 'deploy' },
    createdAt: new Date(number * 1000).toISOString(),
    outcome,
  };
}

test('pinnedDigest reads the digest a reference pins, and nothing from a tag', () => {
  assert.equal(pinnedDigest(`registry:5000/web@${ID_A}`), ID_A);
  assert.equal(pinnedDigest('registry:5000/web:2'), undefined);
  assert.equal(pinnedDigest('web@latest'), undefined);
});

test('the same release: equal digests and config decide; the tag and undefined fields do not', () => {
  const cases: Array<[string, Revision, Revision, boolean, boolean]> = [
    // name, a, b, byReference false, byReference true
    ['same digest and config', revision(1, 'web:2', ID_A), revision(2, 'web:2', ID_A), true, true],
    ['a moved tag: same reference, another digest', revision(1, 'web:2', ID_A), revision(2, 'web:2', ID_B), false, false],
    ['the same image by tag and by digest', revision(1, 'web:2', ID_A), revision(2, `web@${ID_A}`, undefined), true, true],
    ['another replica count', revision(1, 'web:2', ID_A), revision(2, 'web:2', ID_A, 'healthy', 3), false, false],
    ['no digest on one side: only the reference', revision(1, 'web:2', undefined), revision(2, 'web:2', ID_A), false, true],
    ['no digest on one side, another reference', revision(1, 'web:1', undefined), revision(2, 'web:2', ID_A), false, false],
  ];
  for (const [name, a, b, strict, loose] of cases) {
    assert.equal(isSameRelease(a, b, { byReference: false }), strict, `${name} (digests only)`);
    assert.equal(isSameRelease(a, b, { byReference: true }), loose, `${name} (by reference)`);
  }
  // a revision read back from JSON has no undefined fields; one built in memory may
  const fromDisk = JSON.parse(JSON.stringify(revision(1, 'web:2', ID_A))) as Revision;
  assert.ok(isSameRelease(fromDisk, revision(2, 'web:2', ID_A), { byReference: false }));
});

test('rollback without --to: the newest healthy revision before the current one that differs from it', () => {
  const v1 = revision(1, 'web:1', ID_A);
  const v2 = revision(2, 'web:2', ID_B);
  const v2forced = revision(3, 'web:2', ID_B);
  const failed = revision(4, 'web:3', `sha256:${'c'.repeat(64)}`, 'rolled-back');
  const history = [v1, v2, v2forced, failed];
  assert.equal(rollbackTarget(history, v2forced, 'web/production').number, 1, 'skips the twin of the current revision');
  assert.equal(rollbackTarget(history, v2, 'web/production').number, 1);
  // after the rollback to v1 (revision 5), the one before that differs is v2's newest: 3
  const back = { ...revision(5, 'web:1', ID_A), restoredFrom: 1 };
  assert.equal(rollbackTarget([...history, back], back, 'web/production').number, 3);
});

test('rollback is refused when nothing earlier differs, for a revision never healthy, and for the current one', () => {
  const v1 = revision(1, 'web:1', ID_A);
  const twin = revision(2, 'web:1', ID_A);
  const failed = revision(3, 'web:2', ID_B, 'failed');
  const code = (expected: DeployError['code'], message: RegExp) => (err: unknown) => err instanceof DeployError && err.code === expected && message.test(err.message);
  assert.throws(() => rollbackTarget([v1, twin], twin, 'web/production'), code('ROLLOUT_NO_REVISION', /that differs from it \(revision 1 runs the same image and config\)/));
  assert.throws(() => rollbackTarget([v1], undefined, 'web/production'), code('ROLLOUT_NO_REVISION', /serves no revision/));
  assert.throws(() => rollbackTarget([v1, twin, failed], twin, 'web/production', 3), code('ROLLOUT_NO_REVISION', /never became healthy \(failed\)/));
  assert.throws(() => rollbackTarget([v1, twin], twin, 'web/production', 2), code('ROLLOUT_INVALID', /already the current revision/));
  assert.throws(() => rollbackTarget([v1, twin], twin, 'web/production', 9), code('ROLLOUT_NO_REVISION', /has no revision 9/));
  assert.equal(rollbackTarget([v1, twin], twin, 'web/production', 1).number, 1, '--to restores a twin when asked');
});
