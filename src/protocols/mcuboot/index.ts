/** MCUboot over SMP (MCUmgr): driver, client, console framing, CBOR, errors and image parser. */
export {
  MCUBOOT_PROTOCOL,
  McubootSession,
  createMcubootDriver,
  mcubootDriver,
  type ConfirmPolicy,
  type McubootConnectOptions,
  type McubootDriver,
  type McubootDriverOptions,
  type McubootTimeouts,
} from './driver.ts';
export {
  SmpClient,
  checkReply,
  type ImageSlotState,
  type McumgrParams,
  type SmpClientOptions,
  type UploadRequest,
} from './client.ts';
export {
  SMP_MAX_FRAME,
  SmpConsoleDecoder,
  SmpConsoleReader,
  crc16Xmodem,
  encodeSmpConsole,
  type ConsoleEvent,
} from './console-framing.ts';
export {
  IMG_MGMT_ERRORS,
  ImgErr,
  MgmtErr,
  OS_MGMT_ERRORS,
  SmpError,
  describeRc,
} from './errors.ts';
export * from './image.ts';
export * from './smp.ts';
export { chunkSize, uploadImage } from './upload.ts';
