/**
 * ESP-IDF partition table (ESP-IDF "Partition Tables", esp_partition entry layout as written by
 * gen_esp32part.py): 32-byte entries from offset 0x8000 by default — magic 0x50AA (bytes
 * 0xAA 0x50), type, subtype, offset u32, size u32, label char[16], flags u32 — ended by an MD5
 * entry (magic 0xEBEB) or erased flash (0xFF).
 */
import { view } from '../../core/bytes.ts';

/** CONFIG_PARTITION_TABLE_OFFSET default. */
export const PARTITION_TABLE_OFFSET = 0x8000;
/** Largest table (ESP-IDF: one 4 KiB sector less the MD5 entry; 95 entries). */
export const PARTITION_TABLE_MAX_LENGTH = 0xc00;
const ENTRY = 32;

export interface PartitionEntry {
  /** 0 = app, 1 = data. */
  type: number;
  /** For apps: 0x00 factory, 0x10 + n ota_n, 0x20 test. */
  subtype: number;
  offset: number;
  size: number;
  label: string;
  flags: number;
}

/** Parses the entries of a partition table; stops at the first entry without the magic. */
export function parsePartitionTable(bytes: Uint8Array): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  const v = view(bytes);
  for (let o = 0; o + ENTRY <= bytes.length; o += ENTRY) {
    if (bytes[o] !== 0xaa || bytes[o + 1] !== 0x50) break;
    const label = bytes.subarray(o + 12, o + 28);
    const nul = label.indexOf(0);
    out.push({
      type: bytes[o + 2]!,
      subtype: bytes[o + 3]!,
      offset: v.getUint32(o + 4, true),
      size: v.getUint32(o + 8, true),
      label: new TextDecoder().decode(nul >= 0 ? label.subarray(0, nul) : label),
      flags: v.getUint32(o + 28, true),
    });
  }
  return out;
}

/** The partition the bootloader runs when there is no OTA data: factory, else ota_0. */
export function bootAppPartition(entries: readonly PartitionEntry[]): PartitionEntry | undefined {
  const apps = entries.filter((e) => e.type === 0);
  return apps.find((e) => e.subtype === 0x00) ?? apps.find((e) => e.subtype === 0x10) ?? apps[0];
}
