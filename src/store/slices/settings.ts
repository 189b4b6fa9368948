/** Settings slice: line speed, read-back verification and the development-only raw-image switch. */
import type { AppServices } from '../types.ts';
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
}

export interface SettingsSlice {
  settings: Settings;
  setBaudRate: (baudRate: BaudRate) => void;
  setVerifyAfterWrite: (on: boolean) => void;
  /** Ignored (stays false) unless the build allows unverified images. */
  setAllowUnverified: (on: boolean) => void;
}

export const defaultSettings: Settings = {
  baudRate: 460800,
  verifyAfterWrite: true,
  allowUnverified: false,
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
  });
}
