/**
 * Simulated ESP boards: which chip, how much flash, which USB bridge or native USB port, and
 * how DTR/RTS reach the chip. USB ids: Silicon Labs CP2102 and CP2102N 10c4:ea60 (the same
 * default id), WCH CH340 1a86:7523, WCH CH343 1a86:55d3, FTDI FT231X 0403:6015 (the FT-X series'
 * default id), Espressif USB-Serial/JTAG 303a:1001 (esp-pylib `ESPRESSIF_VID`, `USB_JTAG_SERIAL_PID`).
 */
import {
  ESP_CHIPS,
  USB_JTAG_SERIAL_PID,
  ESPRESSIF_VID,
  type EspChipId,
} from '../../protocols/esp/chips.ts';
import { deterministicMac, type BoardOptions, type BoardPreset, type SimBoard } from '../board.ts';
import { FlashModel, W25Q32_TIMING } from '../flash-model.ts';
import {
  LINK_CH340,
  LINK_CH343,
  LINK_CP2102,
  LINK_CP2102N,
  LINK_FT231X,
  LINK_USB_CDC,
  SerialWire,
  type LinkModel,
} from '../serial-wire.ts';
import { EspDevice, type ResetCircuit } from './esp-device.ts';

/** An ESP board, with its chip model exposed for tests. */
export interface EspSimBoard extends SimBoard {
  device: EspDevice;
}

interface Bridge {
  name: string;
  vid: number;
  pid: number;
  link: LinkModel;
  circuit: ResetCircuit;
  /** Native USB: the port re-enumerates when the application starts (ms away). */
  reenumerateMs?: number;
}

const CP2102: Bridge = {
  name: 'CP2102',
  vid: 0x10c4,
  pid: 0xea60,
  link: LINK_CP2102,
  circuit: 'auto-reset',
};
/** ESP32-DevKitC V4: "A single chip USB-UART bridge provides up to 3 Mbps" (its user guide). */
const CP2102N: Bridge = {
  name: 'CP2102N',
  vid: 0x10c4,
  pid: 0xea60,
  link: LINK_CP2102N,
  circuit: 'auto-reset',
};
const CH343: Bridge = {
  name: 'CH343',
  vid: 0x1a86,
  pid: 0x55d3,
  link: LINK_CH343,
  circuit: 'auto-reset',
};
const CH340: Bridge = {
  name: 'CH340',
  vid: 0x1a86,
  pid: 0x7523,
  link: LINK_CH340,
  circuit: 'auto-reset',
};
/** SparkFun's ESP32 Thing: an FT231X with the usual DTR/RTS auto-reset transistors. */
const FT231X: Bridge = {
  name: 'FT231X',
  vid: 0x0403,
  pid: 0x6015,
  link: LINK_FT231X,
  circuit: 'auto-reset',
};
const USB_JTAG: Bridge = {
  name: 'USB-Serial/JTAG',
  vid: ESPRESSIF_VID,
  pid: USB_JTAG_SERIAL_PID,
  link: LINK_USB_CDC,
  circuit: 'usb-jtag-serial',
  reenumerateMs: 500,
};

/** Espressif OUIs seen on each chip family (IEEE registry entries of Espressif Inc.). */
export const ESP_OUI: Record<EspChipId, readonly [number, number, number]> = {
  esp8266: [0x18, 0xfe, 0x34],
  esp32: [0x24, 0x0a, 0xc4],
  esp32s2: [0x7c, 0xdf, 0xa1],
  esp32s3: [0xf4, 0x12, 0xfa],
  esp32c3: [0x58, 0xcf, 0x79],
  esp32c6: [0x40, 0x4c, 0xca],
  esp32h2: [0x74, 0x4d, 0xbd],
};

/**
 * eFuse words giving each chip a production revision and the features esptool prints (fields as
 * in esptool targets/*.py `get_major_chip_version` / `get_minor_chip_version` /
 * `get_chip_features`, and chips.ts `revision`):
 * - ESP32 v3.0, ESP32-D0WD-V3: rev bits 0–2 set (efuse word 3 bit 15, word 5 bit 20,
 *   APB_CTL_DATE bit 31), package 1 (word 3 bits 9–11), CHIP_CPU_FREQ_RATED (word 3 bit 13) with
 *   CHIP_CPU_FREQ_LOW (bit 12) clear: "240MHz".
 * - ESP32-S2 v1.0: WAFER_VERSION_MAJOR = 1 (BLOCK1 word 3 bits 18–19).
 * - ESP32-S3 v0.2, ESP32-C3 v0.4: WAFER_VERSION_MINOR low bits (BLOCK1 word 3 bits 18–20).
 * - ESP32-C6 v0.1: WAFER_VERSION_MINOR = 1 (BLOCK1 word 3 bits 18–21).
 * - ESP32-H2 v0.1: WAFER_VERSION_MINOR = 1 (BLOCK1 word 3 bits 18–20).
 */
const REVISION_WORDS: Partial<Record<EspChipId, ReadonlyMap<number, number>>> = {
  esp32: new Map([
    [0x3ff5a00c, (1 << 15) | (1 << 13) | (1 << 9)],
    [0x3ff5a014, 1 << 20],
    [0x3ff6607c, 0x80000000],
  ]),
  esp32s2: new Map([[0x3f41a044 + 12, 1 << 18]]),
  esp32s3: new Map([[0x60007044 + 12, 2 << 18]]),
  esp32c3: new Map([[0x60008844 + 12, 4 << 18]]),
  esp32c6: new Map([[0x600b0844 + 12, 1 << 18]]),
  esp32h2: new Map([[0x600b0844 + 12, 1 << 18]]),
};

function espPreset(options: {
  name: string;
  chip: EspChipId;
  label: string;
  bridge: Bridge;
  flashMiB: number;
}): BoardPreset {
  const chip = ESP_CHIPS[options.chip];
  return {
    name: options.name,
    description: `${options.label}: ${chip.name}, ${options.flashMiB} MiB flash, ${options.bridge.name} ${hex4(options.bridge.vid)}:${hex4(options.bridge.pid)}`,
    protocol: 'esp-serial',
    chip: chip.id,
    create(o: BoardOptions): EspSimBoard {
      const seed = o.seed ?? 1;
      const flash = new FlashModel({ size: options.flashMiB * 1024 * 1024, timing: W25Q32_TIMING });
      for (const image of o.images ?? []) flash.load(image.address, image.data);
      const bridge = options.bridge;
      const device = new EspDevice({
        chip,
        flash,
        mac: deterministicMac(ESP_OUI[chip.id], seed, options.name),
        resetCircuit: o.startInBootloader ? 'none' : bridge.circuit,
        usbSerialJtag: bridge.circuit === 'usb-jtag-serial',
        ...(bridge.reenumerateMs !== undefined && !o.startInBootloader
          ? { reenumerateOnAppBootMs: bridge.reenumerateMs }
          : {}),
        ...(REVISION_WORDS[chip.id] ? { registers: REVISION_WORDS[chip.id]! } : {}),
      });
      const wire = new SerialWire({
        clock: o.clock,
        device,
        link: o.link ?? bridge.link,
        usbVendorId: bridge.vid,
        usbProductId: bridge.pid,
        label: `Simulated ${options.label}`,
        seed,
        ...(o.unplugged ? { unplugged: true } : {}),
      });
      if (o.startInBootloader) device.enterDownloadMode();
      return {
        name: options.name,
        label: options.label,
        protocol: 'esp-serial',
        chip: chip.id,
        flash,
        wire,
        enterBootloader: () => device.enterDownloadMode(),
        device,
      };
    },
  };
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** The ESP presets. */
export const ESP_BOARD_PRESETS: readonly BoardPreset[] = [
  espPreset({ name: 'esp32', chip: 'esp32', label: 'ESP32-DevKitC', bridge: CP2102N, flashMiB: 4 }),
  espPreset({
    name: 'esp32-ch340',
    chip: 'esp32',
    label: 'ESP32 board (CH340)',
    bridge: CH340,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp32-thing',
    chip: 'esp32',
    label: 'SparkFun ESP32 Thing (FT231X)',
    bridge: FT231X,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp32s2',
    chip: 'esp32s2',
    label: 'ESP32-S2-Saola-1',
    bridge: CP2102,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp32s3',
    chip: 'esp32s3',
    label: 'ESP32-S3-DevKitC-1 (USB port)',
    bridge: USB_JTAG,
    flashMiB: 8,
  }),
  espPreset({
    name: 'esp32s3-uart',
    chip: 'esp32s3',
    label: 'ESP32-S3-DevKitC-1 (UART port)',
    bridge: CP2102,
    flashMiB: 8,
  }),
  espPreset({
    name: 'esp32c3',
    chip: 'esp32c3',
    label: 'ESP32-C3-DevKitM-1',
    bridge: CP2102,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp32c3-ch343',
    chip: 'esp32c3',
    label: 'ESP32-C3 board (CH343)',
    bridge: CH343,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp32c3-usb',
    chip: 'esp32c3',
    label: 'ESP32-C3 board (USB-Serial/JTAG)',
    bridge: USB_JTAG,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp32c6',
    chip: 'esp32c6',
    label: 'ESP32-C6-DevKitC-1 (USB port)',
    bridge: USB_JTAG,
    flashMiB: 8,
  }),
  espPreset({
    name: 'esp32h2',
    chip: 'esp32h2',
    label: 'ESP32-H2-DevKitM-1 (USB port)',
    bridge: USB_JTAG,
    flashMiB: 4,
  }),
  espPreset({
    name: 'esp8266',
    chip: 'esp8266',
    label: 'NodeMCU (ESP8266, CH340)',
    bridge: CH340,
    flashMiB: 4,
  }),
];
