/**
 * An SMP client over a serial console link: one request at a time, each with the next sequence
 * number; a reply counts only when its sequence number, group and command match the request
 * and its OP is the request's plus one (SMP Protocol Specification, "Sequence Num"). Stale
 * replies (to an earlier, timed-out request) and console text are skipped.
 *
 * Requests are sent as SMP version 2 first; a server that answers MGMT_ERR_UNSUPPORTED_TOO_NEW
 * (or with a version-1 header) is spoken to in version 1 from then on.
 */
import type { Clock } from '../../core/clock.ts';
import { UsageError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { SerialLink } from '../../transport/link.ts';
import {
  decodeCborMap,
  encodeCbor,
  flag,
  isMap,
  optBytes,
  optInt,
  optString,
  optUint,
  reqArray,
  reqString,
  type CborMap,
} from './cbor.ts';
import { SmpConsoleReader, encodeSmpConsole, SMP_MAX_FRAME } from './console-framing.ts';
import { MgmtErr, SmpError } from './errors.ts';
import {
  ImageCmd,
  OsCmd,
  SmpGroup,
  SmpOp,
  decodeSmpPacket,
  encodeSmpPacket,
  type SmpVersion,
} from './smp.ts';

export interface SmpClientOptions {
  clock: Clock;
  logger?: Logger;
  /** Wait for a reply, in ms. Default 3000. */
  timeoutMs?: number;
  /** Largest console frame sent. Default 127. */
  frameSize?: number;
  /** Version to start with: 1 (SMP version 2, default) or 0 (version 1). */
  version?: SmpVersion;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

/** One entry of the image state list (smp_group_1.rst, "Get state of images response"). */
export interface ImageSlotState {
  image: number;
  slot: number;
  version: string;
  hash?: Uint8Array;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

/** "MCUmgr parameters" (smp_group_0.rst). */
export interface McumgrParams {
  bufSize: number;
  bufCount: number;
}

/** What an upload request carries (smp_group_1.rst, "Image upload request"). */
export interface UploadRequest {
  off: number;
  data: Uint8Array;
  /** Only with off 0. */
  len?: number;
  image?: number;
  sha?: Uint8Array;
}

export class SmpClient {
  version: SmpVersion;
  /** Replies skipped because they answered another request. */
  staleReplies = 0;
  readonly reader: SmpConsoleReader;
  private seq = 0;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly frameSize: number;

  constructor(
    readonly link: SerialLink,
    options: SmpClientOptions,
  ) {
    this.clock = options.clock;
    this.log = options.logger ?? silentLogger;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.frameSize = options.frameSize ?? SMP_MAX_FRAME;
    this.version = options.version ?? 1;
    this.reader = new SmpConsoleReader(link.input, this.clock);
  }

  /**
   * Sends one request and returns the reply body.
   * @throws {SmpError} for a non-zero `rc` or an `err` member; TimeoutError; ProtocolError
   *   'protocol.bad-reply' for a reply that does not decode.
   */
  async request(
    op: 'read' | 'write',
    group: number,
    id: number,
    body: CborMap,
    options: RequestOptions = {},
  ): Promise<CborMap> {
    for (;;) {
      const sent = this.version;
      try {
        return await this.once(op, group, id, body, options);
      } catch (err) {
        // A version-1 server answers a version-2 request with UNSUPPORTED_TOO_NEW.
        if (
          err instanceof SmpError &&
          err.smpGroup === undefined &&
          err.rc === MgmtErr.UNSUPPORTED_TOO_NEW &&
          sent === 1
        ) {
          this.log.debug('The board speaks SMP version 1 only.');
          this.version = 0;
          continue;
        }
        throw err;
      }
    }
  }

  private async once(
    op: 'read' | 'write',
    group: number,
    id: number,
    body: CborMap,
    options: RequestOptions,
  ): Promise<CborMap> {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    const reqOp = op === 'read' ? SmpOp.READ : SmpOp.WRITE;
    const packet = encodeSmpPacket(
      { version: this.version, op: reqOp, flags: 0, group, seq, id },
      encodeCbor(body),
    );
    await this.link.write(encodeSmpConsole(packet, this.frameSize));
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const left = Math.max(1, deadline - this.clock.now());
      const raw = await this.reader.next({
        timeoutMs: left,
        signal: options.signal,
        what: `Reply to SMP ${group}/${id}`,
      });
      let decoded: ReturnType<typeof decodeSmpPacket>;
      try {
        decoded = decodeSmpPacket(raw);
      } catch {
        this.reader.badFrames++;
        continue;
      }
      const h = decoded.header;
      if (h.seq !== seq || h.group !== group || h.id !== id || h.op !== reqOp + 1) {
        this.staleReplies++;
        this.log.debug(`Skipping a reply to another request (seq ${h.seq}, ${h.group}/${h.id}).`);
        continue;
      }
      if (h.version === 0 && this.version === 1) this.version = 0;
      const map = decodeCborMap(decoded.body);
      checkReply(map, group, id);
      return map;
    }
  }

  // ---- OS group (smp_group_0.rst) ----------------------------------------------------------

  /** Echo: `{"d": text}` → `{"r": text}`. */
  async echo(text: string, options?: RequestOptions): Promise<string> {
    const r = await this.request('write', SmpGroup.OS, OsCmd.ECHO, { d: text }, options);
    return reqString(r, 'r');
  }

  /** Reset; `force` asks the application not to veto it. */
  async reset(options: RequestOptions & { force?: boolean } = {}): Promise<void> {
    await this.request(
      'write',
      SmpGroup.OS,
      OsCmd.RESET,
      options.force ? { force: 1 } : {},
      options,
    );
  }

  async mcumgrParams(options?: RequestOptions): Promise<McumgrParams> {
    const r = await this.request('read', SmpGroup.OS, OsCmd.MCUMGR_PARAMS, {}, options);
    const bufSize = optUint(r, 'buf_size');
    const bufCount = optUint(r, 'buf_count');
    if (bufSize === undefined || bufCount === undefined) {
      throw new SmpError({ group: SmpGroup.OS, id: OsCmd.MCUMGR_PARAMS, rc: MgmtErr.ENOTSUP });
    }
    return { bufSize, bufCount };
  }

  /** OS/application info with a format string ("s", "p", "a"…). */
  async osInfo(format: string, options?: RequestOptions): Promise<string> {
    const r = await this.request('read', SmpGroup.OS, OsCmd.INFO, { format }, options);
    return reqString(r, 'output');
  }

  /** Bootloader info: the name, or with `query` the member of that name. */
  async bootloaderInfo(query?: string, options?: RequestOptions): Promise<CborMap> {
    return this.request(
      'read',
      SmpGroup.OS,
      OsCmd.BOOTLOADER_INFO,
      query ? { query } : {},
      options,
    );
  }

  // ---- Image group (smp_group_1.rst) -------------------------------------------------------

  async imageState(options?: RequestOptions): Promise<ImageSlotState[]> {
    return parseImageStates(
      await this.request('read', SmpGroup.IMAGE, ImageCmd.STATE, {}, options),
    );
  }

  /** Marks the image with `hash` for test (`confirm` false) or confirms (true). */
  async setImageState(
    request: { hash?: Uint8Array; confirm: boolean },
    options?: RequestOptions,
  ): Promise<ImageSlotState[]> {
    const body: CborMap = { confirm: request.confirm };
    if (request.hash) body['hash'] = request.hash;
    return parseImageStates(
      await this.request('write', SmpGroup.IMAGE, ImageCmd.STATE, body, options),
    );
  }

  /** One upload chunk; returns the offset the board expects next, and `match` when sent. */
  async upload(
    req: UploadRequest,
    options?: RequestOptions,
  ): Promise<{ off: number; match?: boolean }> {
    if (req.off === 0 && req.len === undefined)
      throw new UsageError('upload: the first chunk needs "len"');
    const body: CborMap = {};
    if (req.image !== undefined) body['image'] = req.image;
    if (req.len !== undefined) body['len'] = req.len;
    body['off'] = req.off;
    if (req.sha) body['sha'] = req.sha;
    body['data'] = req.data;
    const r = await this.request('write', SmpGroup.IMAGE, ImageCmd.UPLOAD, body, options);
    const off = optUint(r, 'off');
    if (off === undefined) {
      throw new SmpError({
        group: SmpGroup.IMAGE,
        id: ImageCmd.UPLOAD,
        rc: MgmtErr.EUNKNOWN,
        rsn: 'no "off" in the reply',
      });
    }
    const match = r['match'];
    return typeof match === 'boolean' ? { off, match } : { off };
  }

  /** Erases a slot (default 1, the secondary). */
  async erase(slot?: number, options?: RequestOptions): Promise<void> {
    await this.request(
      'write',
      SmpGroup.IMAGE,
      ImageCmd.ERASE,
      slot === undefined ? {} : { slot },
      options,
    );
  }
}

/** Throws the reply's error, if it carries one (SMP Protocol Specification, "Minimal response"). */
export function checkReply(map: CborMap, group: number, id: number): void {
  const rc = optInt(map, 'rc');
  const rsn = optString(map, 'rsn');
  if (rc !== undefined && rc !== 0) {
    throw new SmpError({ group, id, rc, ...(rsn === undefined ? {} : { rsn }) });
  }
  const err = map['err'];
  if (err !== undefined) {
    if (!isMap(err))
      throw new SmpError({ group, id, rc: MgmtErr.EUNKNOWN, rsn: 'malformed "err"' });
    const errRc = optUint(err, 'rc') ?? 0;
    if (errRc !== 0) {
      throw new SmpError({ group, id, rc: errRc, errGroup: optUint(err, 'group') ?? group });
    }
  }
}

function parseImageStates(map: CborMap): ImageSlotState[] {
  return reqArray(map, 'images').map((entry) => {
    if (!isMap(entry))
      throw new SmpError({
        group: 1,
        id: 0,
        rc: MgmtErr.EUNKNOWN,
        rsn: 'image entry is not a map',
      });
    const hash = optBytes(entry, 'hash');
    const state: ImageSlotState = {
      image: optUint(entry, 'image') ?? 0,
      slot: optUint(entry, 'slot') ?? 0,
      version: optString(entry, 'version') ?? '',
      bootable: flag(entry, 'bootable'),
      pending: flag(entry, 'pending'),
      confirmed: flag(entry, 'confirmed'),
      active: flag(entry, 'active'),
      permanent: flag(entry, 'permanent'),
    };
    if (hash) state.hash = hash;
    return state;
  });
}
