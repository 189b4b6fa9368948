/**
 * Step 1: the board. The technician picks how it is connected — a serial port or a USB device
 * in DFU mode — and then the port or device: real ones through the browser's chooser; in demo
 * mode a list of virtual boards and USB devices, clearly marked as simulated, with a cable you
 * can pull.
 */
import { useId, useState, useSyncExternalStore } from 'react';
import type { DemoLab } from '../../demo/lab.ts';
import type { DeviceTransport } from '../state/index.ts';
import { ErrorBox } from './ErrorBox.tsx';
import { useActions, useAppContext, useAppStore } from './use-app-store.ts';

const TRANSPORTS: readonly { value: DeviceTransport; label: string }[] = [
  { value: 'serial', label: 'Serial port' },
  { value: 'usb', label: 'USB device (DFU)' },
];

export function PortPanel() {
  const { lab } = useAppContext();
  const transport = useAppStore((s) => s.transport);
  const selected = useAppStore((s) => (s.transport === 'usb' ? s.usbDevice : s.port));
  const portError = useAppStore((s) => s.portError);
  const busy = useAppStore((s) => s.job.running || s.choosingPort);
  const { choosePort, chooseUsbDevice, releasePort } = useActions();

  return (
    <section className="panel" aria-labelledby="port-heading">
      <h2 id="port-heading">
        <span className="step">1</span> Board
      </h2>
      <TransportChoice value={transport} disabled={busy} />
      {lab ? (
        transport === 'usb' ? (
          <VirtualUsbPicker lab={lab} busy={busy} />
        ) : (
          <VirtualBoardPicker lab={lab} busy={busy} />
        )
      ) : transport === 'usb' ? (
        <button type="button" onClick={() => void chooseUsbDevice()} disabled={busy}>
          Choose USB device…
        </button>
      ) : (
        <button type="button" onClick={() => void choosePort()} disabled={busy}>
          Choose serial port…
        </button>
      )}
      {selected && (
        <p className="port-line" data-testid="port-label" data-transport={transport}>
          {transport === 'usb' ? 'Device' : 'Port'}: <strong>{selected.label}</strong>
          {selected.virtual && <span className="badge badge-virtual">virtual</span>}{' '}
          <button type="button" className="link" onClick={releasePort} disabled={busy}>
            Forget
          </button>
        </p>
      )}
      {lab && selected?.virtual && <CableControl lab={lab} />}
      {portError && <ErrorBox error={portError} testId="port-error" />}
    </section>
  );
}

/** Serial port or USB device. */
function TransportChoice(props: { value: DeviceTransport; disabled: boolean }) {
  const { setTransport } = useActions();
  const name = useId();
  return (
    <fieldset className="transport" disabled={props.disabled}>
      <legend>Connected through</legend>
      {TRANSPORTS.map((t) => (
        <label key={t.value} className="check">
          <input
            type="radio"
            name={name}
            value={t.value}
            checked={props.value === t.value}
            onChange={() => setTransport(t.value)}
          />
          {t.label}
        </label>
      ))}
    </fieldset>
  );
}

function VirtualBoardPicker(props: { lab: DemoLab; busy: boolean }) {
  const { lab, busy } = props;
  const id = useId();
  const [board, setBoard] = useState(lab.defaultBoard);
  const { choosePort } = useActions();
  return (
    <div className="field-row">
      <label htmlFor={id}>Virtual board</label>
      <select id={id} value={board} onChange={(e) => setBoard(e.target.value)} disabled={busy}>
        {lab.types.map((t) => (
          <option key={t.name} value={t.name}>
            Virtual {t.label}
          </option>
        ))}
      </select>
      <button type="button" onClick={() => void choosePort({ board })} disabled={busy}>
        Connect
      </button>
    </div>
  );
}

function VirtualUsbPicker(props: { lab: DemoLab; busy: boolean }) {
  const { lab, busy } = props;
  const id = useId();
  const [device, setDevice] = useState(lab.usbTypes[0]?.name ?? '');
  const { chooseUsbDevice } = useActions();
  return (
    <div className="field-row">
      <label htmlFor={id}>Virtual USB device</label>
      <select id={id} value={device} onChange={(e) => setDevice(e.target.value)} disabled={busy}>
        {lab.usbTypes.map((t) => (
          <option key={t.name} value={t.name}>
            Virtual {t.label}
          </option>
        ))}
      </select>
      <button type="button" onClick={() => void chooseUsbDevice({ device })} disabled={busy}>
        Connect
      </button>
    </div>
  );
}

/** Unplug / plug in the virtual board's USB cable. */
function CableControl(props: { lab: DemoLab }) {
  const { lab } = props;
  const plugged = useSyncExternalStore(lab.state.subscribe, () => lab.state.getState().plugged);
  return (
    <p className="cable">
      Virtual USB cable:{' '}
      <strong data-testid="cable-state">{plugged ? 'plugged in' : 'unplugged'}</strong>{' '}
      {plugged ? (
        <button type="button" onClick={() => lab.unplug()}>
          Unplug
        </button>
      ) : (
        <button type="button" onClick={() => lab.plug()}>
          Plug in
        </button>
      )}
    </p>
  );
}
