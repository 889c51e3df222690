// Webhook deliveries: the (provider, delivery id) primary key makes "new or duplicate" one atomic
// insert, and acceptDelivery puts that insert and the runs it starts in the same transaction, so a
// redelivery never runs twice and an acknowledged delivery always has its runs.
import type { AcceptedDelivery, Delivery, DeliveryOutcome, EnqueueRun, Run } from '../types.js';
import type { Context } from './context.js';
import { opt } from './driver.js';
import { enqueueRun } from './runs.js';

export async function recordDelivery(ctx: Context, delivery: Delivery): Promise<DeliveryOutcome> {
  const inserted = await ctx.sql.run(
    `INSERT INTO webhook_deliveries (provider, delivery_id, project_id, payload_hash, received_at)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, delivery_id) DO NOTHING`,
    [delivery.provider, delivery.deliveryId, opt(delivery.projectId), delivery.payloadHash, ctx.now()],
  );
  return inserted === 1 ? 'new' : 'duplicate';
}

/**
 * A body that starts runs is accepted once in this window whatever its delivery id: a signed
 * delivery replayed under a new id is a duplicate. Real pushes never repeat a body (it names the
 * commits before and after and the time).
 */
export const REPLAY_WINDOW_MS = 7 * 24 * 3_600_000;

export async function acceptDelivery(ctx: Context, delivery: Delivery, runs: EnqueueRun[]): Promise<AcceptedDelivery> {
  return ctx.sql.transaction(async (sql) => {
    const inner = { ...ctx, sql };
    // replicas accepting the same body at once take turns (SQLite transactions already do)
    if (sql.dialect === 'postgres' && runs.length > 0) await sql.get('SELECT pg_advisory_xact_lock(?)', [Number.parseInt(delivery.payloadHash.slice(0, 7), 16) || 0]);
    if ((await recordDelivery(inner, delivery)) === 'duplicate') {
      const first = await sql.get<{ received_at: number }>(
        'SELECT received_at FROM webhook_deliveries WHERE provider = ? AND delivery_id = ?',
        [delivery.provider, delivery.deliveryId],
      );
      return { outcome: 'duplicate', firstSeenAtMs: Number(first?.received_at ?? 0) };
    }
    if (runs.length > 0) {
      const replayed = await sql.get<{ received_at: number }>(
        `SELECT received_at FROM webhook_deliveries
         WHERE project_id = ? AND payload_hash = ? AND received_at >= ? AND NOT (provider = ? AND delivery_id = ?)
         ORDER BY received_at LIMIT 1`,
        [delivery.projectId ?? null, delivery.payloadHash, ctx.now() - REPLAY_WINDOW_MS, delivery.provider, delivery.deliveryId],
      );
      if (replayed) return { outcome: 'duplicate', firstSeenAtMs: Number(replayed.received_at), replay: true };
    }
    const enqueued: Run[] = [];
    for (const run of runs) enqueued.push(await enqueueRun(inner, run));
    return { outcome: 'new', runs: enqueued };
  });
}
