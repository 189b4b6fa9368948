/**
 * USB Device Firmware Upgrade 1.1 as data: class requests (§3, Table 3.2), device states
 * (§6.1.2, Appendix A.1/A.2 "bState") and status codes (§6.1.2, "bStatus"). Pure.
 */

/** bRequest values of the DFU class requests (DFU 1.1 Table 3.2). */
export const DfuRequest = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;

export const DFU_REQUEST_NAMES: Readonly<Record<number, string>> = {
  0: 'DFU_DETACH',
  1: 'DFU_DNLOAD',
  2: 'DFU_UPLOAD',
  3: 'DFU_GETSTATUS',
  4: 'DFU_CLRSTATUS',
  5: 'DFU_GETSTATE',
  6: 'DFU_ABORT',
};

/** bState values (DFU 1.1 §6.1.2). */
export const DfuState = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;

const DFU_STATE_NAMES: Readonly<Record<number, string>> = {
  0: 'appIDLE',
  1: 'appDETACH',
  2: 'dfuIDLE',
  3: 'dfuDNLOAD-SYNC',
  4: 'dfuDNBUSY',
  5: 'dfuDNLOAD-IDLE',
  6: 'dfuMANIFEST-SYNC',
  7: 'dfuMANIFEST',
  8: 'dfuMANIFEST-WAIT-RESET',
  9: 'dfuUPLOAD-IDLE',
  10: 'dfuERROR',
};

/** bStatus values (DFU 1.1 §6.1.2). */
export const DfuStatus = {
  OK: 0x00,
  errTARGET: 0x01,
  errFILE: 0x02,
  errWRITE: 0x03,
  errERASE: 0x04,
  errCHECK_ERASED: 0x05,
  errPROG: 0x06,
  errVERIFY: 0x07,
  errADDRESS: 0x08,
  errNOTDONE: 0x09,
  errFIRMWARE: 0x0a,
  errVENDOR: 0x0b,
  errUSBR: 0x0c,
  errPOR: 0x0d,
  errUNKNOWN: 0x0e,
  errSTALLEDPKT: 0x0f,
} as const;

/** Name and the specification's description of each status (DFU 1.1 §6.1.2). */
export const DFU_STATUS_TEXT: Readonly<Record<number, { name: string; text: string }>> = {
  0x00: { name: 'OK', text: 'No error condition is present' },
  0x01: { name: 'errTARGET', text: 'File is not targeted for use by this device' },
  0x02: {
    name: 'errFILE',
    text: 'File is for this device but fails some vendor-specific verification test',
  },
  0x03: { name: 'errWRITE', text: 'Device is unable to write memory' },
  0x04: { name: 'errERASE', text: 'Memory erase function failed' },
  0x05: { name: 'errCHECK_ERASED', text: 'Memory erase check failed' },
  0x06: { name: 'errPROG', text: 'Program memory function failed' },
  0x07: { name: 'errVERIFY', text: 'Programmed memory failed verification' },
  0x08: {
    name: 'errADDRESS',
    text: 'Cannot program memory due to received address that is out of range',
  },
  0x09: {
    name: 'errNOTDONE',
    text: 'Received DFU_DNLOAD with wLength = 0, but device does not think it has all of the data yet',
  },
  0x0a: {
    name: 'errFIRMWARE',
    text: 'Device’s firmware is corrupt; it cannot return to run-time (non-DFU) operations',
  },
  0x0b: { name: 'errVENDOR', text: 'iString indicates a vendor-specific error' },
  0x0c: { name: 'errUSBR', text: 'Device detected unexpected USB reset signaling' },
  0x0d: { name: 'errPOR', text: 'Device detected unexpected power on reset' },
  0x0e: {
    name: 'errUNKNOWN',
    text: 'Something went wrong, but the device does not know what it was',
  },
  0x0f: { name: 'errSTALLEDPKT', text: 'Device stalled an unexpected request' },
};

/** bInterfaceClass/SubClass/Protocol of a DFU interface (DFU 1.1 §4.2.3, §4.2.1). */
export const DFU_INTERFACE_CLASS = 0xfe;
export const DFU_INTERFACE_SUBCLASS = 0x01;
export const DFU_PROTOCOL_RUNTIME = 0x01;
export const DFU_PROTOCOL_DFU_MODE = 0x02;
/** bDescriptorType of the DFU functional descriptor (DFU 1.1 §4.1.3, Table 4.2). */
export const DFU_FUNCTIONAL_DESCRIPTOR_TYPE = 0x21;

export function stateName(state: number): string {
  return DFU_STATE_NAMES[state] ?? `state ${state}`;
}

export function statusName(status: number): string {
  return DFU_STATUS_TEXT[status]?.name ?? `status 0x${status.toString(16)}`;
}
