/**
 * Requests no well-behaved client sends, over a plain TCP socket: a raw request target (dot
 * segments, bad percent-encoding), a declared Content-Length far larger than the bytes sent, or a
 * chunked body that keeps streaming until the server answers. The answer is read even when the
 * server closes the connection while the body is still being written.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  method?: string;
  target: string;
  headers?: Record<string, string>;
  /** Sent once after the head. */
  body?: Buffer;
  /** The head is sent without its closing blank line, as by a client whose headers never finish. */
  unfinished?: boolean;
  /** Chunked body: chunks of `chunkBytes` are written until the answer comes or `maxBytes` were sent. */
  stream?: { chunkBytes: number; maxBytes: number };
}

function parse(text: string): RawAnswer {
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd === -1 ? text : text.slice(0, headEnd);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  let body = headEnd === -1 ? '' : text.slice(headEnd + 4);
  if (headers['transfer-encoding'] === 'chunked')
    body = body.replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n/gi, '');
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: body.replace(/\r\n$/, '') };
}

/** One request on its own connection; resolves with the answer once the server ends the exchange. */
export function rawRequest(url: string, request: RawRequest, timeoutMs = 30_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const received: Buffer[] = [];
    let answered = false;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(received).toString('latin1');
      if (text === '') reject(new Error(`no answer to ${request.method ?? 'GET'} ${request.target}`));
      else resolve(parse(text));
    };
    const timer = setTimeout(done, timeoutMs);
    const headers: Record<string, string> = {
      host: `${hostname}:${port}`,
      connection: 'close',
      ...request.headers,
    };
    if (request.stream !== undefined) headers['transfer-encoding'] = 'chunked';
    else if (request.body !== undefined && headers['content-length'] === undefined)
      headers['content-length'] = String(request.body.length);
    const head =
      `${request.method ?? 'GET'} ${request.target} HTTP/1.1\r\n` +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      (request.unfinished === true ? '' : '\r\n');
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      received.push(chunk);
      const text = Buffer.concat(received).toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1];
      if (headEnd !== -1 && length !== undefined && text.length - headEnd - 4 >= Number(length)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(head);
    if (request.body !== undefined) socket.write(request.body);
    const stream = request.stream;
    if (stream === undefined) return;
    const chunk = Buffer.concat([
      Buffer.from(`${stream.chunkBytes.toString(16)}\r\n`),
      Buffer.alloc(stream.chunkBytes, 0x20),
      Buffer.from('\r\n'),
    ]);
    let sent = 0;
    const pump = (): void => {
      while (!answered && !socket.destroyed && sent < stream.maxBytes) {
        sent += stream.chunkBytes;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!answered && !socket.destroyed && sent >= stream.maxBytes) socket.write('0\r\n\r\n');
    };
    pump();
  });
}
