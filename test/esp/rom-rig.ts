/**
 * One simulated ESP chip (src/sim/esp: reset circuit, ROM loader, flash) on a serial wire, built
 * for tests of the client and the driver: any chip with 4 MiB of flash unless told, eFuse words
 * as given, scripted faults per command, and a port that records what the host does with its
 * control lines.
 */
import type { Clock } from '../../src/core/clock.ts';
import type { EspChip } from '../../src/protocols/esp/chips.ts';
import type {
  LinkOptions,
  SerialLink,
  SerialPortHandle,
  SerialSignals,
} from '../../src/transport/link.ts';
import { deterministicMac } from '../../src/sim/board.ts';
import { ESP_OUI } from '../../src/sim/esp/boards.ts';
import type { CommandFault } from '../../src/sim/esp/command-script.ts';
import { EspDevice } from '../../src/sim/esp/esp-device.ts';
import { FlashModel, W25Q32_TIMING } from '../../src/sim/flash-model.ts';
import { LINK_IDEAL, SerialWire, type LinkModel } from '../../src/sim/serial-wire.ts';

export interface RomRigOptions {
  chip: EspChip;
  clock: Clock;
  /** Default 4 (a W25Q32: JEDEC id 0x1640ef). */
  flashMiB?: number;
  /** eFuse and other register words (address, value), over the factory ones. */
  registers?: readonly (readonly [number, number])[];
  /** Default LINK_IDEAL: bytes take no time, so every duration is the loader's own. */
  link?: LinkModel;
  /** Faults by command ("FLASH_DEFL_DATA#3", or "MEM_BEGIN" for every one). */
  faults?: readonly (readonly [string, CommandFault])[];
  /** Resets into download mode that boot the application instead. */
  missDownloadResets?: number;
}

export interface RomRig {
  device: EspDevice;
  flash: FlashModel;
  wire: SerialWire;
  /** The board's port, recording the host's `setSignals` calls and the last link it opened. */
  port: RecordingPort;
}

export function romRig(options: RomRigOptions): RomRig {
  const { chip } = options;
  const flash = new FlashModel({
    size: (options.flashMiB ?? 4) * 1024 * 1024,
    timing: W25Q32_TIMING,
  });
  const device = new EspDevice({
    chip,
    flash,
    mac: deterministicMac(ESP_OUI[chip.id], 1, chip.id),
    resetCircuit: 'auto-reset',
    ...(options.registers ? { registers: new Map(options.registers) } : {}),
  });
  for (const [label, fault] of options.faults ?? []) device.script.set(label, fault);
  if (options.missDownloadResets) device.missDownloadResets(options.missDownloadResets);
  const wire = new SerialWire({
    clock: options.clock,
    device,
    link: options.link ?? LINK_IDEAL,
    label: `Simulated ${chip.name}`,
    seed: 1,
  });
  return { device, flash, wire, port: new RecordingPort(wire) };
}

/** The labels of the commands the chip's loader received ("SYNC#1", …). */
export function commandLabels(device: EspDevice): string[] {
  return device.script.log.map((c) => c.label);
}

/** A port of the wire that records the host's control-line calls, in order. */
class RecordingPort implements SerialPortHandle {
  readonly signals: SerialSignals[] = [];
  /** The link opened last. */
  currentLink: SerialLink | undefined;

  constructor(private readonly wire: SerialWire) {}

  get info() {
    return this.wire.port!.info;
  }

  async open(options: LinkOptions): Promise<SerialLink> {
    const link = await this.wire.port!.open(options);
    const signals = this.signals;
    this.currentLink = new Proxy(link, {
      get(target, prop) {
        if (prop === 'setSignals') {
          return (s: SerialSignals) => {
            signals.push(s);
            return target.setSignals(s);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    return this.currentLink;
  }
}
