/**
 * Reading the spec the CLI is given: a regular file, or `-` for standard
 * input, never more than a spec can be. Anything else (a device such as
 * /dev/zero, a FIFO, a directory) is refused before a byte is read, so the
 * command neither grows without bound nor waits forever.
 */
import { constants as bufferConstants } from 'node:buffer';
import { constants as fsConstants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { ValidationError } from '../errors.js';

/**
 * The most bytes a spec may have. The largest spec SPEC_LIMITS allow,
 * compact JSON with every value at its longest, is about 407 MB: 1,024
 * networks of 4,096 endpoints (93 bytes each with both addresses at their
 * longest), 131,072 published ports (129 bytes each), 4,096 ingress ports
 * and the networks themselves (317 bytes each). JSON.parse takes one string,
 * and V8's longest is 536,870,888 characters (about 512 MiB): a larger text
 * could not be parsed anyway, so that is the cap. It is above the largest
 * spec written compactly; indented, that spec no longer fits in a string.
 */
export const SPEC_FILE_MAX_BYTES = bufferConstants.MAX_STRING_LENGTH;

/** Read a MiB at a time (not the stream's 64 KiB): a spec of 10,000 ports is under one chunk, not 13. */
const READ_CHUNK_BYTES = 1 << 20;

/** The spec's text from `file` (`-`: standard input); a ValidationError on field SPEC when it cannot be one. */
export async function readSpecText(file: string): Promise<string> {
  if (file === '-') return readBounded(process.stdin, 'standard input');
  let handle;
  try {
    // Non-blocking, so opening a FIFO does not wait for a writer; regular files ignore the flag.
    handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw new ValidationError('SPEC', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new ValidationError('SPEC', `cannot read ${file}: it is ${kindOf(stats)}, not a regular file (give a spec file, or - for standard input)`);
    }
    if (stats.size > SPEC_FILE_MAX_BYTES) throw tooLarge(file, ` (${stats.size} bytes)`);
    return await readBounded(handle.createReadStream({ autoClose: false, highWaterMark: READ_CHUNK_BYTES }), file);
  } finally {
    await handle.close();
  }
}

/** Reads to the end, giving up as soon as there is more than a spec can be (a file may grow while it is read). */
async function readBounded(source: AsyncIterable<Buffer>, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > SPEC_FILE_MAX_BYTES) throw tooLarge(name, '');
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError('SPEC', `cannot read ${name}: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function tooLarge(name: string, size: string): ValidationError {
  return new ValidationError('SPEC', `${name} is larger${size} than the ${SPEC_FILE_MAX_BYTES} bytes a spec can have`);
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'something else';
}
