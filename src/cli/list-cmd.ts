/**
 * `webflash list`: the serial ports and USB devices of this computer, with the protocol and
 * board each likely is, from its USB ids through the protocol registry (`hintForUsbIds`).
 */
import { hintForUsbIds, protocolEntry, type PortHint } from '../protocols/registry.ts';
import { usbId } from '../transport/usb.ts';
import { listUsbDevices } from '../platform/node/usb.ts';
import { nodePlatform, type HeadlessPlatform } from './headless.ts';
import { EXIT, parse, type Command } from './io.ts';

interface ListedThing {
  transport: 'serial' | 'usb';
  /** Serial: the port path; USB: VID:PID[:SERIAL], as `flash --usb` takes it. */
  address: string;
  label: string;
  usbId: string | null;
  protocol: string | null;
  board: string | null;
  /** True when the exact ids matched, not only the vendor. */
  exact: boolean;
}

function describe(hint: PortHint | undefined): Pick<ListedThing, 'protocol' | 'board' | 'exact'> {
  if (!hint) return { protocol: null, board: null, exact: false };
  return {
    protocol: hint.protocol,
    board: hint.board ?? hint.chip ?? null,
    exact: hint.exact,
  };
}

/** The list command on a given platform (tests pass fakes). */
export function createListCommand(platform: HeadlessPlatform = nodePlatform): Command {
  return {
    name: 'list',
    summary: 'list serial ports and USB devices, with the protocol each likely speaks',
    help: `webflash list [--json] [--no-usb]

Lists the serial ports and the USB devices of this computer. For each one whose USB ids tell,
the protocol (and board) it likely is, from webflash's protocol registry; a generic USB-serial
bridge (CP210x, CH340, FTDI) tells nothing. Use the address with 'webflash flash --port' or
'--usb'.

Options:
  --json     one JSON array of {transport, address, label, usbId, protocol, board, exact}
  --no-usb   serial ports only (does not load libusb)`,
    run: async (args, io) => {
      const { values } = parse(args, { json: { type: 'boolean' }, 'no-usb': { type: 'boolean' } });
      const things: ListedThing[] = [];
      for (const p of await platform.listPorts()) {
        const { usbVendorId: vendorId, usbProductId: productId } = p.info;
        things.push({
          transport: 'serial',
          address: p.path,
          label: [p.manufacturer, p.serialNumber].filter(Boolean).join(' ') || p.info.label,
          usbId:
            vendorId !== undefined && productId !== undefined ? usbId(vendorId, productId) : null,
          ...describe(hintForUsbIds('serial', { vendorId, productId })),
        });
      }
      let usbError: string | undefined;
      if (!values['no-usb']) {
        try {
          for (const d of await listUsbDevices(await platform.usb())) {
            const id = usbId(d.vendorId, d.productId);
            things.push({
              transport: 'usb',
              address: d.serialNumber ? `${id}:${d.serialNumber}` : id,
              label: d.productName ?? d.label,
              usbId: id,
              ...describe(hintForUsbIds('usb', d)),
            });
          }
        } catch (err) {
          usbError = err instanceof Error ? err.message : String(err);
        }
      }
      if (values.json) {
        io.out(`${JSON.stringify(things)}\n`);
        return EXIT.ok;
      }
      if (things.length === 0) io.out('No serial ports or USB devices found.\n');
      for (const t of things) {
        const what = t.protocol
          ? `${protocolEntry(t.protocol).shortName}${t.board ? ` (${t.board})` : ''}${t.exact ? '' : '?'}`
          : '';
        io.out(
          `${t.transport.padEnd(6)} ${t.address.padEnd(24)} ${(t.usbId ?? '').padEnd(9)} ${t.label}${what ? `  → ${what}` : ''}\n`,
        );
      }
      if (usbError) io.err(`USB devices could not be listed: ${usbError}\n`);
      return EXIT.ok;
    },
  };
}

export const listCommand: Command = createListCommand();
