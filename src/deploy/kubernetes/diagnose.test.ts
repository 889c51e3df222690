import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { lastEvents } from './diagnose.js';

const second = new Date('2026-11-29T12:00:00Z');
const event = (reason: string, type: 'Normal' | 'Warning', count = 1, at = second): CoreV1Event => ({
  metadata: {},
  involvedObject: { name: 'web-1' },
  reason,
  type,
  count,
  message: `${reason} happened`,
  lastTimestamp: at,
});

test('the BackOff event naming a crash loop is kept whatever order a real kubelet lists same-second events in', () => {
  // a kubelet's events of one second: lastTimestamp cannot order them, the API lists BackOff first
  const events = [
    event('BackOff', 'Warning', 3),
    event('Pulled', 'Normal', 4),
    event('Created', 'Normal', 4),
    event('Started', 'Normal', 4),
    event('Unhealthy', 'Warning', 4),
  ];
  for (const order of [events, [...events].reverse()]) {
    const shown = lastEvents(order, 'web-1', 3, 'CrashLoopBackOff');
    assert.equal(shown.length, 3);
    assert.ok(shown.some((line) => line.startsWith('Warning BackOff')), shown.join('\n'));
    assert.ok(shown.some((line) => line.startsWith('Warning Unhealthy')), 'warnings come before normal events');
  }
});

test('events are shown oldest first and only the ones about the pod', () => {
  const older = event('Scheduled', 'Normal', 1, new Date(second.getTime() - 5000));
  const other = { ...event('BackOff', 'Warning'), involvedObject: { name: 'web-2' } };
  const shown = lastEvents([event('Failed', 'Warning'), other, older], 'web-1', 3, 'ErrImagePull');
  assert.deepEqual(shown, ['Normal Scheduled: Scheduled happened', 'Warning Failed: Failed happened']);
});
