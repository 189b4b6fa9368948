/** What the board said about itself: chip, revision, MAC, flash size, installed firmware. */
import { Fragment } from 'react';
import { formatBytes } from './format.ts';
import { useAppStore } from './use-app-store.ts';

export function DevicePanel() {
  const device = useAppStore((s) => s.device);
  const installed = useAppStore((s) => s.installed);
  const virtual = useAppStore((s) => s.port?.virtual ?? false);
  return (
    <section className="panel" aria-labelledby="device-heading">
      <h2 id="device-heading">Device</h2>
      {!device ? (
        <p className="hint">The board identifies itself when you press Flash.</p>
      ) : (
        <dl className="facts" data-testid="device-facts">
          <dt>Chip</dt>
          <dd data-testid="device-chip">
            {device.name}
            {virtual && <span className="badge badge-virtual">virtual</span>}
          </dd>
          {device.revision && (
            <>
              <dt>Revision</dt>
              <dd>{device.revision}</dd>
            </>
          )}
          {device.uniqueId && (
            <>
              <dt>MAC / unique id</dt>
              <dd className="mono">{device.uniqueId}</dd>
            </>
          )}
          {device.flashSize !== undefined && (
            <>
              <dt>Flash size</dt>
              <dd>{formatBytes(device.flashSize)}</dd>
            </>
          )}
          {device.bootloaderVersion && (
            <>
              <dt>Bootloader</dt>
              <dd>{device.bootloaderVersion}</dd>
            </>
          )}
          {Object.entries(device.details ?? {}).map(([k, v]) => (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </Fragment>
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
              : 'not reported'}
          </dd>
        </dl>
      )}
    </section>
  );
}
