/** The bench state type and the slice-creator shape every bench slice uses. */
import type { StateCreator } from 'zustand/vanilla';
import type { BenchBundleSlice } from './bundle-slice.ts';
import type { BoardsSlice } from './boards-slice.ts';
import type { RecordsSlice } from './records-slice.ts';

/** The whole bench state: one store built from these slices. */
export type BenchState = BenchBundleSlice & BoardsSlice & RecordsSlice;

/** A slice of `BenchState`, seeing (and able to set) the whole state. */
export type BenchSlice<T> = StateCreator<BenchState, [], [], T>;
