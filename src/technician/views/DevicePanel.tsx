/**
 * What the board said about itself: chip and the facts of its protocol (ESP: revision, MAC,
 * flash size; STM32: product id, bootloader, read protection, flash size; DFU: USB ids, DFU
 * version, transfer size, memory layout) and the installed firmware.
 */
import { useShallow } from 'zustand/react/shallow';
import { deviceFacts, productChange } from '../state/index.ts';
import { usbId } from '../../transport/usb.ts';
import { useAppStore } from './use-app-store.ts';

export function DevicePanel() {
  const device = useAppStore((s) => s.device);
  const installed = useAppStore((s) => s.installed);
  const lastReceived = useAppStore((s) => s.flashLog.board);
  const change = useAppStore(useShallow(productChange));
  const transport = useAppStore((s) => s.transport);
  const portIds = useAppStore((s) => {
    const info = s.transport === 'usb' ? undefined : s.port?.handle.info;
    return info?.usbVendorId === undefined || info.usbProductId === undefined
      ? undefined
      : usbId(info.usbVendorId, info.usbProductId);
  });
  const usbInfo = useAppStore((s) =>
    s.transport === 'usb' ? s.usbDevice?.handle.info : undefined,
  );
  const virtual = useAppStore(
    (s) => (s.transport === 'usb' ? s.usbDevice?.virtual : s.port?.virtual) ?? false,
  );
  return (
    <section className="panel" aria-labelledby="device-heading">
      <h2 id="device-heading">Device</h2>
      {!device ? (
        <p className="hint">The board identifies itself when you press Flash.</p>
      ) : (
        <dl className="facts" data-testid="device-facts" data-protocol={device.protocol}>
          <dt>Chip</dt>
          <dd data-testid="device-chip">
            {device.name}
            {virtual && <span className="badge badge-virtual">virtual</span>}
          </dd>
          <dt>Transport</dt>
          <dd data-testid="fact-transport">
            {transport === 'usb' ? 'USB (WebUSB)' : 'Serial port (Web Serial)'}
            {portIds ? `, USB ${portIds}` : ''}
          </dd>
          {deviceFacts(device, usbInfo, { missing: true }).map((f) => (
            <div key={f.key} className="fact">
              <dt>{f.label}</dt>
              <dd data-testid={`fact-${f.key}`}>{f.value}</dd>
            </div>
          ))}
          <dt>Current firmware</dt>
          <dd data-testid="installed">
            {installed
              ? [
                  installed.project,
                  installed.version,
                  installed.securityVersion !== undefined
                    ? `(security version ${installed.securityVersion})`
                    : undefined,
                ]
                  .filter(Boolean)
                  .join(' ') || 'unnamed'
              : 'not reported by this bootloader'}
          </dd>
          <dt>Last received here</dt>
          <dd data-testid="last-received">
            {lastReceived
              ? `${lastReceived.product} ${lastReceived.version} (flash log, ${lastReceived.time.slice(0, 10)})`
              : 'nothing in this app’s flash log'}
          </dd>
        </dl>
      )}
      {change && (
        <p className="warn" data-testid="product-change">
          This board last received {change.boardProduct}; the loaded bundle is for{' '}
          {change.bundleProduct}. Installing it needs an override with a reason (Advanced options).
        </p>
      )}
    </section>
  );
}
