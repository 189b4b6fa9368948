/**
 * The SMP header (SMP Protocol Specification, "Frame: the envelope"), the rc / err codes and
 * their messages, and the client's request/reply matching, against a scripted device.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { FramingError, TimeoutError } from '../../src/core/errors.ts';
import { encodeCborIndefinite } from '../../src/protocols/mcuboot/cbor.ts';
import { checkReply, SmpClient } from '../../src/protocols/mcuboot/client.ts';
import { encodeSmpConsole } from '../../src/protocols/mcuboot/console-framing.ts';
import {
  describeRc,
  IMG_MGMT_ERRORS,
  MgmtErr,
  OS_MGMT_ERRORS,
  SmpError,
} from '../../src/protocols/mcuboot/errors.ts';
import {
  decodeSmpPacket,
  encodeSmpPacket,
  SmpOp,
  type SmpHeader,
} from '../../src/protocols/mcuboot/smp.ts';
import { SmpServer, type SmpHandler } from '../../src/sim/mcuboot/smp-server.ts';
import { LINK_IDEAL, SerialWire, type DeviceSide } from '../../src/sim/serial-wire.ts';

describe('SMP header', () => {
  it('packs Res|Ver|OP, flags, length, group, sequence and command big-endian', () => {
    const p = encodeSmpPacket(
      { version: 1, op: SmpOp.WRITE, flags: 0, group: 0x0102, seq: 0x42, id: 7 },
      new Uint8Array([0xa0]),
    );
    expect([...p]).toEqual([0x0a, 0x00, 0x00, 0x01, 0x01, 0x02, 0x42, 0x07, 0xa0]);
    const v1 = encodeSmpPacket(
      { version: 0, op: SmpOp.READ, flags: 0, group: 1, seq: 0, id: 0 },
      new Uint8Array(0),
    );
    expect([...v1]).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
    expect(decodeSmpPacket(p)).toEqual({
      header: { version: 1, op: 2, flags: 0, length: 1, group: 0x0102, seq: 0x42, id: 7 },
      body: new Uint8Array([0xa0]),
    });
  });

  it.each([
    ['a short packet', [0, 0, 0]],
    ['reserved bits set', [0x20, 0, 0, 0, 0, 0, 0, 0]],
    ['reserved version 2', [0x10, 0, 0, 0, 0, 0, 0, 0]],
    ['a length that does not match', [0x01, 0, 0, 5, 0, 0, 0, 0, 0xa0]],
  ])('refuses %s', (_, bytes) => {
    expect(() => decodeSmpPacket(Uint8Array.from(bytes))).toThrow(FramingError);
  });
});

describe('rc and err', () => {
  it('names every mcumgr_err_t with a plain message', () => {
    for (const [name, rc] of Object.entries(MgmtErr)) {
      if (rc === 0) continue;
      const d = describeRc(rc);
      expect(d.symbol).toBe(`MGMT_ERR_${name}`);
      expect(d.text.length).toBeGreaterThan(5);
    }
    expect(describeRc(300).symbol).toBe('MGMT_ERR_EPERUSER+44');
    expect(describeRc(99).symbol).toBe('rc 99');
  });

  it('names every image and OS group error (SMP version 2)', () => {
    IMG_MGMT_ERRORS.forEach((name, rc) => {
      expect(describeRc(rc, 1).symbol).toBe(`IMG_MGMT_ERR_${name}`);
    });
    expect(describeRc(9, 1).text).toBe('there is no free slot for the image');
    OS_MGMT_ERRORS.forEach((name, rc) =>
      expect(describeRc(rc, 0).symbol).toBe(`OS_MGMT_ERR_${name}`),
    );
    expect(describeRc(99, 1).symbol).toBe('IMG_MGMT_ERR_image error 99');
    expect(describeRc(4, 9).symbol).toBe('group 9 error 4');
  });

  it('checkReply throws SmpError for rc ≠ 0 and err.rc ≠ 0, not for rc 0 or an empty map', () => {
    expect(() => checkReply({}, 1, 0)).not.toThrow();
    expect(() => checkReply({ rc: 0, off: 5 }, 1, 1)).not.toThrow();
    expect(() => checkReply({ err: { group: 1, rc: 0 } }, 1, 1)).not.toThrow();
    const v1 = catchSmp(() => checkReply({ rc: 3, rsn: 'bad' }, 1, 1));
    expect(v1.code).toBe('protocol.command-failed');
    expect(v1.rc).toBe(3);
    expect(v1.smpGroup).toBeUndefined();
    expect(v1.message).toBe(
      'The board refused image upload: the request was not valid (MGMT_ERR_EINVAL, "bad").',
    );
    const v2 = catchSmp(() => checkReply({ err: { group: 1, rc: 9 } }, 1, 1));
    expect(v2.smpGroup).toBe(1);
    expect(v2.symbol).toBe('IMG_MGMT_ERR_NO_FREE_SLOT');
    expect(v2.status).toBe(9);
    expect(catchSmp(() => checkReply({ err: 5 }, 0, 0)).rc).toBe(MgmtErr.EUNKNOWN);
  });
});

function catchSmp(fn: () => void): SmpError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SmpError);
    return err as SmpError;
  }
  throw new Error('expected an SmpError');
}

/** A device whose SMP server runs `handler`; `raw` sends arbitrary bytes to the host. */
function scripted(handler: SmpHandler) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  let side: DeviceSide | undefined;
  const server = (): SmpServer =>
    new SmpServer({ clock, send: (b) => side!.send(b), handler, maxPacket: 2048 });
  let s: SmpServer | undefined;
  const wire = new SerialWire({
    clock,
    link: LINK_IDEAL,
    device: {
      attach: (d) => {
        side = d;
      },
      receive: (d) => (s ??= server()).receive(d),
    },
  });
  return {
    clock,
    wire,
    raw: (b: Uint8Array) => side!.send(b),
    server: () => (s ??= server()),
  };
}

async function client(rig: ReturnType<typeof scripted>, timeoutMs = 500) {
  const link = await rig.wire.port!.open({ baudRate: 115200 });
  return new SmpClient(link, { clock: rig.clock, timeoutMs });
}

describe('SmpClient', () => {
  it('sends version 2 requests with increasing sequence numbers and returns reply bodies', async () => {
    const seen: SmpHeader[] = [];
    const rig = scripted((req) => {
      seen.push(req.header);
      return { body: { r: req.body['d'] as string } };
    });
    const c = await client(rig);
    expect(await c.echo('a')).toBe('a');
    expect(await c.echo('b')).toBe('b');
    expect(seen.map((h) => [h.version, h.op, h.group, h.id, h.seq])).toEqual([
      [1, 2, 0, 0, 0],
      [1, 2, 0, 0, 1],
    ]);
  });

  it('falls back to SMP version 1 when the board answers UNSUPPORTED_TOO_NEW', async () => {
    const versions: number[] = [];
    const rig = scripted((req) => {
      versions.push(req.header.version);
      return req.header.version === 1
        ? { body: { rc: MgmtErr.UNSUPPORTED_TOO_NEW } }
        : { body: { r: 'ok' } };
    });
    const c = await client(rig);
    expect(await c.echo('x')).toBe('ok');
    expect(await c.echo('y')).toBe('ok');
    expect(versions).toEqual([1, 0, 0]);
    expect(c.version).toBe(0);
  });

  it('skips replies to other requests (stale sequence number, other command) and console text', async () => {
    const rig = scripted(() => ({ body: { r: 'late' } }));
    const c = await client(rig);
    const stale = (h: Partial<SmpHeader>): Uint8Array =>
      encodeSmpConsole(
        encodeSmpPacket(
          { version: 1, op: SmpOp.WRITE_RSP, flags: 0, group: 0, seq: 0, id: 0, ...h },
          encodeCborIndefinite({ r: 'stale' }),
        ),
      );
    // Before the real reply: a reply to seq 7, one to another command, one with a read OP, text.
    rig.raw(stale({ seq: 7 }));
    rig.raw(stale({ id: 5 }));
    rig.raw(stale({ op: SmpOp.READ_RSP }));
    rig.raw(new TextEncoder().encode('<inf> log line\n'));
    expect(await c.echo('now')).toBe('late');
    expect(c.staleReplies).toBe(3);
  });

  it('times out when nothing answers, and the next request still pairs correctly', async () => {
    let answer = false;
    const rig = scripted(() =>
      answer ? { body: { r: 'yes' } } : { body: { r: 'x' }, busyMs: 10_000 },
    );
    const c = await client(rig, 300);
    await expect(c.echo('1')).rejects.toThrow(TimeoutError);
    answer = true;
    rig.server().stop();
    expect(await c.echo('2')).toBe('yes');
  });

  it('parses the image state list and MCUmgr parameters; upload needs len on the first chunk', async () => {
    const hash = new Uint8Array(32).fill(3);
    const rig = scripted((req) => {
      if (req.header.group === 1 && req.header.id === 0) {
        return {
          body: {
            images: [
              { slot: 0, version: '1.0.0', hash, active: true, confirmed: true, bootable: true },
              { image: 1, slot: 1, version: '2.0.0', pending: true, permanent: true },
            ],
          },
        };
      }
      if (req.header.id === 6) return { body: { buf_size: 2475, buf_count: 4 } };
      if (req.header.id === 1) return { body: { off: 10, match: true } };
      return { body: {} };
    });
    const c = await client(rig);
    expect(await c.imageState()).toEqual([
      {
        image: 0,
        slot: 0,
        version: '1.0.0',
        hash,
        bootable: true,
        pending: false,
        confirmed: true,
        active: true,
        permanent: false,
      },
      {
        image: 1,
        slot: 1,
        version: '2.0.0',
        bootable: false,
        pending: true,
        confirmed: false,
        active: false,
        permanent: true,
      },
    ]);
    expect(await c.mcumgrParams()).toEqual({ bufSize: 2475, bufCount: 4 });
    expect(await c.upload({ off: 0, len: 10, data: new Uint8Array(10) })).toEqual({
      off: 10,
      match: true,
    });
    await expect(c.upload({ off: 0, data: new Uint8Array(1) })).rejects.toThrow(/needs "len"/);
  });

  it('a reply without the members it needs is an error', async () => {
    const rig = scripted(() => ({ body: {} }));
    const c = await client(rig);
    await expect(c.upload({ off: 5, data: new Uint8Array(1) })).rejects.toThrow(SmpError);
    await expect(c.mcumgrParams()).rejects.toThrow(SmpError);
    await expect(c.echo('x')).rejects.toThrow(
      expect.objectContaining({ code: 'protocol.bad-reply' }),
    );
    await expect(c.imageState()).rejects.toThrow(
      expect.objectContaining({ code: 'protocol.bad-reply' }),
    );
  });
});
