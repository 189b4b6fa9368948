/**
 * SMP error codes and what they mean in plain words. SMP version 1 (and SMP-level errors of
 * version 2) answer `{"rc": n}` with an `mcumgr_err_t`; version 2 answers group errors as
 * `{"err": {"group": g, "rc": n}}` with the group's own enumeration (SMP Protocol
 * Specification, "Minimal response"; Zephyr `mgmt/mcumgr/mgmt/mgmt_defines.h`,
 * `grp/img_mgmt/img_mgmt.h`, `grp/os_mgmt/os_mgmt.h`).
 */
import { ProtocolError } from '../../core/errors.ts';
import { SmpGroup, commandName } from './smp.ts';

/** `mcumgr_err_t`. */
export const MgmtErr = {
  EOK: 0,
  EUNKNOWN: 1,
  ENOMEM: 2,
  EINVAL: 3,
  ETIMEOUT: 4,
  ENOENT: 5,
  EBADSTATE: 6,
  EMSGSIZE: 7,
  ENOTSUP: 8,
  ECORRUPT: 9,
  EBUSY: 10,
  EACCESSDENIED: 11,
  UNSUPPORTED_TOO_OLD: 12,
  UNSUPPORTED_TOO_NEW: 13,
  EPERUSER: 256,
} as const;

const MGMT_MESSAGES: Record<number, string> = {
  1: 'an unknown error',
  2: 'it ran out of memory',
  3: 'the request was not valid',
  4: 'an operation timed out',
  5: 'no such entry',
  6: 'it is in a state that does not allow this',
  7: 'the reply would be too large',
  8: 'the command is not supported',
  9: 'data is corrupt',
  10: 'it is busy',
  11: 'access was denied',
  12: 'the protocol version is too old',
  13: 'the protocol version is too new',
};

/** `img_mgmt_err_code_t`, in order from 0. */
export const IMG_MGMT_ERRORS: readonly string[] = [
  'OK',
  'UNKNOWN',
  'FLASH_CONFIG_QUERY_FAIL',
  'NO_IMAGE',
  'NO_TLVS',
  'INVALID_TLV',
  'TLV_MULTIPLE_HASHES_FOUND',
  'TLV_INVALID_SIZE',
  'HASH_NOT_FOUND',
  'NO_FREE_SLOT',
  'FLASH_OPEN_FAILED',
  'FLASH_READ_FAILED',
  'FLASH_WRITE_FAILED',
  'FLASH_ERASE_FAILED',
  'INVALID_SLOT',
  'NO_FREE_MEMORY',
  'FLASH_CONTEXT_ALREADY_SET',
  'FLASH_CONTEXT_NOT_SET',
  'FLASH_AREA_DEVICE_NULL',
  'INVALID_PAGE_OFFSET',
  'INVALID_OFFSET',
  'INVALID_LENGTH',
  'INVALID_IMAGE_HEADER',
  'INVALID_IMAGE_HEADER_MAGIC',
  'INVALID_HASH',
  'INVALID_FLASH_ADDRESS',
  'VERSION_GET_FAILED',
  'CURRENT_VERSION_IS_NEWER',
  'IMAGE_ALREADY_PENDING',
  'INVALID_IMAGE_VECTOR_TABLE',
  'INVALID_IMAGE_TOO_LARGE',
  'INVALID_IMAGE_DATA_OVERRUN',
  'IMAGE_CONFIRMATION_DENIED',
  'IMAGE_SETTING_TEST_TO_ACTIVE_DENIED',
  'ACTIVE_SLOT_NOT_KNOWN',
];

/** Image group error numbers by name. */
export const ImgErr = Object.fromEntries(IMG_MGMT_ERRORS.map((n, i) => [n, i])) as Record<
  string,
  number
>;

const IMG_MESSAGES: Record<string, string> = {
  NO_IMAGE: 'there is no image in that slot',
  NO_TLVS: 'the image in the slot has no TLV area',
  INVALID_TLV: 'the image in the slot has a broken TLV',
  TLV_MULTIPLE_HASHES_FOUND: 'the image in the slot has more than one hash',
  TLV_INVALID_SIZE: 'the image in the slot has a TLV of the wrong size',
  HASH_NOT_FOUND: 'no image with that hash is on the board',
  NO_FREE_SLOT: 'there is no free slot for the image',
  FLASH_OPEN_FAILED: 'its flash could not be opened',
  FLASH_READ_FAILED: 'reading its flash failed',
  FLASH_WRITE_FAILED: 'writing its flash failed',
  FLASH_ERASE_FAILED: 'erasing its flash failed',
  INVALID_SLOT: 'the slot does not exist',
  NO_FREE_MEMORY: 'it ran out of memory',
  INVALID_OFFSET: 'the upload offset is missing',
  INVALID_LENGTH: 'the image length is missing',
  INVALID_IMAGE_HEADER: 'the image is shorter than its header',
  INVALID_IMAGE_HEADER_MAGIC: 'the data is not an MCUboot image (wrong header magic)',
  INVALID_HASH: 'the hash sent is not valid',
  INVALID_FLASH_ADDRESS: "the image's load address does not fit the slot",
  VERSION_GET_FAILED: 'it could not read the version it runs',
  CURRENT_VERSION_IS_NEWER: 'it runs a newer version than the image',
  IMAGE_ALREADY_PENDING: 'another image is already waiting to be started',
  INVALID_IMAGE_VECTOR_TABLE: "the image's vector table is not valid",
  INVALID_IMAGE_TOO_LARGE: 'the image is too large for the slot',
  INVALID_IMAGE_DATA_OVERRUN: 'more data was sent than the image length',
  IMAGE_CONFIRMATION_DENIED: 'confirming the image was refused',
  IMAGE_SETTING_TEST_TO_ACTIVE_DENIED: 'the running image cannot be marked for test',
  ACTIVE_SLOT_NOT_KNOWN: 'it does not know which slot is active',
};

/** `os_mgmt_err_code_t`, in order from 0. */
export const OS_MGMT_ERRORS: readonly string[] = [
  'OK',
  'UNKNOWN',
  'INVALID_FORMAT',
  'QUERY_YIELDS_NO_ANSWER',
  'RTC_NOT_SET',
  'RTC_COMMAND_FAILED',
  'QUERY_RESPONSE_VALUE_NOT_VALID',
];

/**
 * A non-zero `rc` or `err` in an SMP reply. `status` is the code; `group` is the group of a
 * version-2 group error, undefined for an `mcumgr_err_t`.
 */
export class SmpError extends ProtocolError {
  readonly smpGroup: number | undefined;
  readonly rc: number;
  /** The symbolic name: "EINVAL", "IMG NO_FREE_SLOT"… */
  readonly symbol: string;

  constructor(options: { group: number; id: number; rc: number; errGroup?: number; rsn?: string }) {
    const { group, id, rc, errGroup } = options;
    const { symbol, text } = describeRc(rc, errGroup);
    const what = commandName(group, id);
    super(
      'protocol.command-failed',
      `The board refused ${what}: ${text} (${symbol}${options.rsn ? `, "${options.rsn}"` : ''}).`,
      { opcode: (group << 8) | id, status: rc },
    );
    this.smpGroup = errGroup;
    this.rc = rc;
    this.symbol = symbol;
  }
}

/** Name and plain meaning of an rc, as an `mcumgr_err_t` or as a group error. */
export function describeRc(rc: number, errGroup?: number): { symbol: string; text: string } {
  if (errGroup === SmpGroup.IMAGE) {
    const name = IMG_MGMT_ERRORS[rc] ?? `image error ${rc}`;
    return {
      symbol: `IMG_MGMT_ERR_${name}`,
      text: IMG_MESSAGES[name] ?? 'an image management error',
    };
  }
  if (errGroup === SmpGroup.OS) {
    const name = OS_MGMT_ERRORS[rc] ?? `os error ${rc}`;
    return { symbol: `OS_MGMT_ERR_${name}`, text: name.toLowerCase().replaceAll('_', ' ') };
  }
  if (errGroup !== undefined)
    return { symbol: `group ${errGroup} error ${rc}`, text: 'a group error' };
  const entry = Object.entries(MgmtErr).find(([, v]) => v === rc);
  const symbol = entry
    ? `MGMT_ERR_${entry[0]}`
    : rc >= MgmtErr.EPERUSER
      ? `MGMT_ERR_EPERUSER+${rc - 256}`
      : `rc ${rc}`;
  return { symbol, text: MGMT_MESSAGES[rc] ?? 'an application-specific error' };
}
