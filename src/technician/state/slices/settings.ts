/**
 * Settings slice: line speed, read-back verification, the serial protocol choice, the advanced
 * options (chip-erasing readout unprotect, erase mode, flash ranges to keep, a downgrade
 * override with its typed reason), the operator's note for the flash log, the serial monitor's
 * speed and the development-only raw-image switch.
 */
import { protocolsOf } from '../../../protocols/registry.ts';
import { DOWNGRADE_REASONS, type DowngradeReason } from '../../../bundle/rollback.ts';
import type { EraseMode } from '../../../job/types.ts';
import { toErrorView } from '../../../app/error-view.ts';
import { parseKeepRange, type KeepRange } from '../../../app/keep-ranges.ts';
import type { AppServices, ErrorView, SerialProtocolChoice } from '../../../app/types.ts';
import type { AppSlice } from './slice.ts';

/** Line speeds offered to the technician (esptool's common rates). */
export const BAUD_RATES = [115200, 230400, 460800, 921600] as const;
export type BaudRate = (typeof BAUD_RATES)[number];

export interface Settings {
  baudRate: BaudRate;
  /** Verify each image after writing (MD5 / read-back). */
  verifyAfterWrite: boolean;
  /** Development builds only: allow writing a raw, unsigned image. */
  allowUnverified: boolean;
  /** The protocol for a serial port: "auto" lets the verified bundle's targets decide. */
  serialProtocol: SerialProtocolChoice;
  /**
   * Lets a read-protected STM32 be unlocked with READOUT_UNPROTECT, which erases the whole chip
   * (AN3155 §3.12). Off by default; it resets to off after every job.
   */
  allowReadoutUnprotect: boolean;
  /** Erase only what is written (default), or the whole chip first. */
  eraseMode: EraseMode;
  /** Flash ranges no image may write or erase ("don't erase my settings"). */
  keepRanges: readonly KeepRange[];
  /**
   * The technician's reason to install an older release (a downgrade override), or undefined.
   * With a reason, `downgradeDetail` must say why; it resets after every job.
   */
  downgradeReason: DowngradeReason | undefined;
  downgradeDetail: string;
  /** Free text recorded with the next flash in the flash log ("ticket 4411"). */
  operatorNote: string;
  /** Line speed of the serial monitor. */
  monitorBaudRate: MonitorBaudRate;
  /** Open the serial monitor after a successful flash over a serial port. */
  monitorAfterFlash: boolean;
}

/** Speeds offered to the serial monitor; 115200 is what ESP-IDF and most apps print at. */
export const MONITOR_BAUD_RATES = [
  9600, 19200, 38400, 57600, 74880, 115200, 230400, 460800, 921600,
] as const;
export type MonitorBaudRate = (typeof MONITOR_BAUD_RATES)[number];

/** Most characters of the operator note (the flash log's MAX_NOTE is larger). */
export const MAX_OPERATOR_NOTE = 500;

/** The serial protocol choices offered: "Auto", then every serial protocol of the registry. */
export const SERIAL_PROTOCOL_CHOICES: readonly SerialProtocolChoice[] = [
  'auto',
  ...protocolsOf('serial').map((e) => e.id),
];

export interface SettingsSlice {
  settings: Settings;
  setBaudRate: (baudRate: BaudRate) => void;
  setVerifyAfterWrite: (on: boolean) => void;
  /** Ignored (stays false) unless the build allows unverified images. */
  setAllowUnverified: (on: boolean) => void;
  /** Ignored for a value that is not offered. */
  setSerialProtocol: (choice: SerialProtocolChoice) => void;
  setAllowReadoutUnprotect: (on: boolean) => void;
  setEraseMode: (mode: EraseMode) => void;
  /**
   * Adds a range to keep, typed ("0x9000-0xF000", "0x9000+0x6000") or suggested. Returns the
   * reason it was refused, or undefined when it was added (a duplicate is ignored).
   */
  addKeepRange: (range: string | KeepRange) => ErrorView | undefined;
  removeKeepRange: (index: number) => void;
  /** Chooses the downgrade reason (undefined: no override) and its detail text. */
  setDowngrade: (reason: DowngradeReason | undefined, detail: string) => void;
  setOperatorNote: (note: string) => void;
  setMonitorBaudRate: (baudRate: MonitorBaudRate) => void;
  setMonitorAfterFlash: (on: boolean) => void;
}

export const defaultSettings: Settings = {
  baudRate: 460800,
  verifyAfterWrite: true,
  allowUnverified: false,
  serialProtocol: 'auto',
  allowReadoutUnprotect: false,
  eraseMode: 'regions',
  keepRanges: [],
  downgradeReason: undefined,
  downgradeDetail: '',
  operatorNote: '',
  monitorBaudRate: 115200,
  monitorAfterFlash: true,
};

export function createSettingsSlice(services: AppServices): AppSlice<SettingsSlice> {
  return (set) => ({
    settings: defaultSettings,
    setBaudRate: (baudRate) => {
      if (!(BAUD_RATES as readonly number[]).includes(baudRate)) return;
      set((s) => ({ settings: { ...s.settings, baudRate } }));
    },
    setVerifyAfterWrite: (on) =>
      set((s) => ({ settings: { ...s.settings, verifyAfterWrite: on } })),
    setAllowUnverified: (on) =>
      set((s) => ({
        settings: { ...s.settings, allowUnverified: on && services.unverifiedAllowed },
      })),
    setSerialProtocol: (choice) => {
      if (!SERIAL_PROTOCOL_CHOICES.includes(choice)) return;
      set((s) => ({ settings: { ...s.settings, serialProtocol: choice } }));
    },
    setAllowReadoutUnprotect: (on) =>
      set((s) => ({ settings: { ...s.settings, allowReadoutUnprotect: on } })),
    setEraseMode: (mode) => {
      if (mode !== 'regions' && mode !== 'all') return;
      set((s) => ({ settings: { ...s.settings, eraseMode: mode } }));
    },
    addKeepRange: (range) => {
      let parsed: KeepRange;
      try {
        parsed =
          typeof range === 'string'
            ? parseKeepRange(range)
            : parseKeepRange(`${range.start}-${range.end}`, range.label);
      } catch (err) {
        return toErrorView(err, 'usage.invalid-argument');
      }
      set((s) =>
        s.settings.keepRanges.some((k) => k.start === parsed.start && k.end === parsed.end)
          ? s
          : { settings: { ...s.settings, keepRanges: [...s.settings.keepRanges, parsed] } },
      );
      return undefined;
    },
    removeKeepRange: (index) =>
      set((s) => ({
        settings: {
          ...s.settings,
          keepRanges: s.settings.keepRanges.filter((_, i) => i !== index),
        },
      })),
    setDowngrade: (reason, detail) => {
      if (reason !== undefined && !DOWNGRADE_REASONS.includes(reason)) return;
      set((s) => ({
        settings: { ...s.settings, downgradeReason: reason, downgradeDetail: detail.slice(0, 500) },
      }));
    },
    setOperatorNote: (note) =>
      set((s) => ({ settings: { ...s.settings, operatorNote: note.slice(0, MAX_OPERATOR_NOTE) } })),
    setMonitorAfterFlash: (on) =>
      set((s) => ({ settings: { ...s.settings, monitorAfterFlash: on } })),
    setMonitorBaudRate: (baudRate) => {
      if (!(MONITOR_BAUD_RATES as readonly number[]).includes(baudRate)) return;
      set((s) => ({ settings: { ...s.settings, monitorBaudRate: baudRate } }));
    },
  });
}
