/**
 * The framing of berth's Python worker protocol: each message is a 4-byte big-endian length and
 * that many bytes of UTF-8 JSON, in both directions (python/berth_worker.py holds the other end).
 */

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Collects chunks from a pipe and hands on each whole frame's parsed JSON. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onFrame: (message: unknown) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const length = joined.readUInt32BE(0);
      if (joined.length < 4 + length) {
        this.pending = [joined];
        return;
      }
      const body = joined.subarray(4, 4 + length);
      const rest = joined.subarray(4 + length);
      this.pending = rest.length === 0 ? [] : [rest];
      this.pendingBytes = rest.length;
      this.onFrame(JSON.parse(body.toString('utf8')) as unknown);
    }
  }
}
