/** The combined state type and the slice-creator shape every slice uses. */
import type { StateCreator } from 'zustand/vanilla';
import type { BundleSlice } from './bundle.ts';
import type { FlashLogSlice } from './flash-log.ts';
import type { MonitorSlice } from './monitor.ts';
import type { JobSlice } from './job.ts';
import type { LogSlice } from './log.ts';
import type { PortSlice } from './ports.ts';
import type { SettingsSlice } from './settings.ts';

/** The whole app state: one store built from these slices. */
export type AppState = PortSlice &
  BundleSlice &
  JobSlice &
  LogSlice &
  SettingsSlice &
  MonitorSlice &
  FlashLogSlice;

/** A slice of `AppState`, seeing (and able to set) the whole state. */
export type AppSlice<T> = StateCreator<AppState, [], [], T>;
