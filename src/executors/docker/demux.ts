// Splits Docker's multiplexed exec stream (8-byte frame headers: stream id, 3 zero bytes, size)
// into stdout and stderr while honouring the destinations' backpressure, so a step that prints
// gigabytes streams through with bounded memory.
import { Writable } from 'node:stream';

const HEADER_BYTES = 8;

export class Demuxer extends Writable {
  private pending: Buffer = Buffer.alloc(0);
  private frameStream = 0;
  private frameRemaining = 0;

  constructor(
    private readonly stdout: Writable,
    private readonly stderr: Writable,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    const writes: Array<[Writable, Buffer]> = [];
    while (data.length > 0) {
      if (this.frameRemaining === 0) {
        if (data.length < HEADER_BYTES) {
          this.pending = Buffer.from(data);
          break;
        }
        this.frameStream = data[0] ?? 1;
        this.frameRemaining = data.readUInt32BE(4);
        data = data.subarray(HEADER_BYTES);
        continue;
      }
      const take = Math.min(this.frameRemaining, data.length);
      writes.push([this.frameStream === 2 ? this.stderr : this.stdout, data.subarray(0, take)]);
      this.frameRemaining -= take;
      data = data.subarray(take);
    }
    let waiting = 0;
    let done = false;
    const finish = (): void => {
      if (waiting === 0 && done) callback();
    };
    for (const [target, payload] of writes) {
      if (!target.write(payload)) {
        waiting++;
        target.once('drain', () => {
          waiting--;
          finish();
        });
      }
    }
    done = true;
    finish();
  }
}
