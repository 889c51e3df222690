// Webhook deliveries: the primary key makes "new or duplicate" one atomic insert — keyed by the
// body for deliveries that start runs (see bodyKey), by (provider, delivery id) for the others —
// and acceptDelivery puts that insert and the runs it starts in the same transaction, so a
// redelivery or a replay never runs twice and an acknowledged delivery always has its runs.
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
 * A delivery that starts runs is keyed by its body (per project), not by its delivery id: a
 * redelivery carries the same body, and so does a signed delivery replayed under a new id, to this
 * or another provider's URL. One insert decides both, as the id alone did before. Real pushes never
 * repeat a body (it names the commits before and after, and the time).
 */
export function bodyKey(delivery: Delivery): Delivery {
  return { ...delivery, provider: 'body', deliveryId: `${delivery.projectId ?? ''}:${delivery.payloadHash}` };
}

export async function acceptDelivery(ctx: Context, delivery: Delivery, runs: EnqueueRun[]): Promise<AcceptedDelivery> {
  const key = runs.length > 0 ? bodyKey(delivery) : delivery;
  return ctx.sql.transaction(async (sql) => {
    const inner = { ...ctx, sql };
    if ((await recordDelivery(inner, key)) === 'duplicate') {
      const first = await sql.get<{ received_at: number }>(
        'SELECT received_at FROM webhook_deliveries WHERE provider = ? AND delivery_id = ?',
        [key.provider, key.deliveryId],
      );
      return { outcome: 'duplicate', firstSeenAtMs: Number(first?.received_at ?? 0) };
    }
    const enqueued: Run[] = [];
    for (const run of runs) enqueued.push(await enqueueRun(inner, run));
    return { outcome: 'new', runs: enqueued };
  });
}
