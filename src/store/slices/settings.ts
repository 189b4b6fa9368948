/**
 * Settings slice: line speed, read-back verification, the serial protocol choice, the
 * chip-erasing readout unprotect (an advanced option) and the development-only raw-image switch.
 */
import type { AppServices, SerialProtocolChoice } from '../types.ts';
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
}

/** The serial protocol choices offered ("Auto / ESP / STM32"). */
export const SERIAL_PROTOCOL_CHOICES: readonly SerialProtocolChoice[] = [
  'auto',
  'esp-serial',
  'stm32-usart',
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
}

export const defaultSettings: Settings = {
  baudRate: 460800,
  verifyAfterWrite: true,
  allowUnverified: false,
  serialProtocol: 'auto',
  allowReadoutUnprotect: false,
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
  });
}
