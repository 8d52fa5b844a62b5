/**
 * A small zip writer (deflate, Unix permissions kept): what a Lambda deployment package is. Files
 * are read one at a time; the archive is written to disk as it grows.
 */
import { open, readFile } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, with `/`. */
  path: string;
  source: string;
  mode: number;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** 1980-01-01 00:00, the DOS epoch: the same files give the same bytes. */
const dosDate = (0 << 9) | (1 << 5) | 1;

export async function writeZip(path: string, entries: readonly ZipEntry[]): Promise<void> {
  const file = await open(path, 'w');
  const central: Buffer[] = [];
  let offset = 0;
  try {
    for (const entry of entries) {
      const data = await readFile(entry.source);
      const packed = deflateRawSync(data);
      const stored = packed.length >= data.length;
      const body = stored ? data : packed;
      const name = Buffer.from(entry.path, 'utf8');
      const crc = crc32(data);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0800, 6);
      local.writeUInt16LE(stored ? 0 : 8, 8);
      local.writeUInt16LE(0, 10);
      local.writeUInt16LE(dosDate, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(data.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      await file.write(Buffer.concat([local, name, body]));
      const record = Buffer.alloc(46);
      record.writeUInt32LE(0x02014b50, 0);
      record.writeUInt16LE((3 << 8) | 20, 4);
      record.writeUInt16LE(20, 6);
      record.writeUInt16LE(0x0800, 8);
      record.writeUInt16LE(stored ? 0 : 8, 10);
      record.writeUInt16LE(0, 12);
      record.writeUInt16LE(dosDate, 14);
      record.writeUInt32LE(crc, 16);
      record.writeUInt32LE(body.length, 20);
      record.writeUInt32LE(data.length, 24);
      record.writeUInt16LE(name.length, 28);
      record.writeUInt32LE(((0o100000 | entry.mode) << 16) >>> 0, 38);
      record.writeUInt32LE(offset, 42);
      central.push(record, name);
      offset += local.length + name.length + body.length;
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    await file.write(Buffer.concat([directory, end]));
  } finally {
    await file.close();
  }
}
