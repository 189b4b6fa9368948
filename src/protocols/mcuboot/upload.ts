/**
 * Image upload over SMP (smp_group_1.rst, "Image upload"): chunks sized to the board's
 * reported buffer, the first one with "len", "sha" and (for image 1 and up) "image", then each
 * at the offset the board's last reply named. The board's "off" is the truth: it may ask for
 * bytes again (MCUboot recovery cuts writes to the flash alignment), or name where an
 * interrupted upload stands. A resumed upload starts with a chunk at the last confirmed offset;
 * if the board answers 0 (it lost the upload, e.g. after a reset), the first chunk goes again
 * with its "sha", so that a board that still knows the upload answers where it stands — unless
 * the board lists the image already: then the reply to the last chunk was what got lost.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ProtocolError, VerificationError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { WriteProgress } from '../driver.ts';
import { encodeCbor, type CborMap } from './cbor.ts';
import type { SmpClient, UploadRequest } from './client.ts';
import { SMP_HEADER_SIZE } from './smp.ts';

/** Bytes of the console packet around the SMP packet: length (2) and CRC (2). */
const CONSOLE_OVERHEAD = 4;

/**
 * The largest "data" that keeps the SMP packet within `bufSize` (the board's receive buffer,
 * which holds the decoded console packet), rounded down to a multiple of 4 (flash words).
 */
function chunkSize(bufSize: number, req: Omit<UploadRequest, 'data'>): number {
  const body: CborMap = {};
  if (req.image !== undefined) body['image'] = req.image;
  if (req.len !== undefined) body['len'] = req.len;
  body['off'] = req.off;
  if (req.sha) body['sha'] = req.sha;
  body['data'] = new Uint8Array(0);
  // An empty byte string is 1 byte; its length header grows to 3 bytes up to 65535.
  const overhead = encodeCbor(body).length + 2 + SMP_HEADER_SIZE + CONSOLE_OVERHEAD;
  const room = bufSize - overhead;
  if (room < 16) {
    throw new ProtocolError(
      'protocol.unsupported',
      `The board's SMP buffer (${bufSize} bytes) is too small for an upload.`,
    );
  }
  return room - (room % 4);
}

export interface UploadJob {
  client: SmpClient;
  data: Uint8Array;
  image: number;
  bufSize: number;
  /** Image bytes the board confirmed in an earlier attempt. */
  resumeFrom: number;
  name: string;
  log: Logger;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: WriteProgress) => void) | undefined;
  /** Reply wait for a chunk at offset 0 (the board may erase first). */
  firstChunkTimeoutMs: number;
  /**
   * Asks the board whether the whole image is in place (its hash in the state list): when the
   * reply to the last chunk was lost, the board has already closed the upload and answers
   * offset 0 to anything that follows.
   */
  isComplete?: () => Promise<boolean>;
}

/** Thrown with how far the board confirmed (ResumableError). */
function withConfirmed(err: unknown, confirmedBytes: number): unknown {
  return err instanceof Error ? Object.assign(err, { confirmedBytes }) : err;
}

/**
 * Uploads `data`; returns when the board confirmed every byte.
 * @throws whatever the client throws, with `confirmedBytes`; VerificationError when the board
 *   reports that the bytes do not match the "sha" sent.
 */
export async function uploadImage(job: UploadJob): Promise<void> {
  const { client, data } = job;
  const total = data.length;
  const sha = sha256(data);
  let confirmed = Math.max(0, Math.min(job.resumeFrom, total));
  let off = confirmed;
  let wire = 0;
  let stalls = 0;
  let sendFirst = off === 0;
  // A resumed upload says where the board stands, once: the offset it reports is the truth.
  let announce = !sendFirst;
  while (off < total || sendFirst) {
    const first = sendFirst;
    const req: Omit<UploadRequest, 'data'> = first
      ? { off: 0, len: total, sha, ...(job.image > 0 ? { image: job.image } : {}) }
      : { off };
    const at = first ? 0 : off;
    const size = chunkSize(job.bufSize, req);
    const piece = data.subarray(at, Math.min(total, at + size));
    let reply: { off: number; match?: boolean };
    try {
      reply = await client.upload(
        { ...req, data: piece },
        { signal: job.signal, ...(first ? { timeoutMs: job.firstChunkTimeoutMs } : {}) },
      );
    } catch (err) {
      throw withConfirmed(err, confirmed);
    }
    wire += piece.length + 40;
    sendFirst = false;
    if (reply.off > total) {
      throw withConfirmed(
        new ProtocolError(
          'protocol.bad-reply',
          `The board asked for offset ${reply.off} of a ${total}-byte image.`,
        ),
        confirmed,
      );
    }
    if (reply.off === 0 && !first) {
      if (await job.isComplete?.()) {
        job.log.info(`The board already has all of ${job.name}; its last reply was lost.`);
        job.onProgress?.({
          phase: 'write',
          region: job.name,
          bytesDone: total,
          bytesTotal: total,
          wireBytes: wire,
        });
        return;
      }
      job.log.info(`The board has no upload of ${job.name} in progress; starting it again.`);
      sendFirst = true;
      announce = false;
    } else if (announce) {
      job.log.info(
        `Resuming ${job.name} at byte ${reply.off} of ${total}, the offset the board reports.`,
      );
    } else if (reply.off !== at + piece.length) {
      job.log.debug(
        `The board continues ${job.name} at byte ${reply.off} (sent ${at}…${at + piece.length}).`,
      );
    }
    if (!sendFirst) announce = false;
    stalls = reply.off > confirmed || first ? 0 : stalls + 1;
    if (stalls >= 8) {
      throw withConfirmed(
        new ProtocolError(
          'protocol.bad-reply',
          `The board keeps asking for byte ${reply.off} of ${job.name}.`,
        ),
        confirmed,
      );
    }
    confirmed = reply.off;
    off = reply.off;
    job.onProgress?.({
      phase: 'write',
      region: job.name,
      bytesDone: confirmed,
      bytesTotal: total,
      wireBytes: wire,
    });
    if (off === total && reply.match === false) {
      throw new VerificationError(
        `${job.name}: the board reports that the uploaded bytes do not match the image's SHA-256.`,
        {
          hints: ['Write the image again.'],
        },
      );
    }
  }
}
