// Turns a byte stream into log lines for events. Lines are cut at a maximum length so that a step
// printing without newlines still streams with bounded memory, and a consumer that returns a
// promise (its own output is full) holds the stream back until it resolves.
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE_CHARS = 16 * 1024;

export class LineSplitter extends Writable {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private blocked?: Promise<void>;

  constructor(private readonly consume: (line: string) => void | Promise<void>) {
    super();
  }

  private onLine(line: string): void {
    const wait = this.consume(line);
    if (wait) this.blocked = wait;
  }

  private settle(callback: (error?: Error | null) => void): void {
    const blocked = this.blocked;
    this.blocked = undefined;
    if (blocked) blocked.then(() => callback(), callback);
    else callback();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(this.decoder.write(chunk));
    this.settle(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.take(this.decoder.end());
    if (this.partial.length > 0) this.onLine(this.partial);
    this.partial = '';
    this.settle(callback);
  }

  private take(text: string): void {
    const data = this.partial + text;
    let start = 0;
    let newline = data.indexOf('\n', start);
    while (newline !== -1) {
      this.emitLine(data.slice(start, newline).replace(/\r$/, ''));
      start = newline + 1;
      newline = data.indexOf('\n', start);
    }
    while (data.length - start >= MAX_LINE_CHARS) {
      this.onLine(data.slice(start, start + MAX_LINE_CHARS));
      start += MAX_LINE_CHARS;
    }
    this.partial = data.slice(start);
  }

  private emitLine(line: string): void {
    for (let i = 0; i < line.length; i += MAX_LINE_CHARS) this.onLine(line.slice(i, i + MAX_LINE_CHARS));
    if (line.length === 0) this.onLine('');
  }
}
