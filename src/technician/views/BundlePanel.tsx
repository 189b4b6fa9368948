/**
 * Step 2: the firmware. The demo bundle, a bundle file (picker or drag and drop) or a URL;
 * verification runs in the verify worker and the verdict is shown with the bundle's contents.
 * Development builds can also load a raw image, shown as UNVERIFIED.
 */
import { useId, useState, type DragEvent, type FormEvent } from 'react';
import type { BundleSummary } from '../state/index.ts';
import { ErrorBox } from './ErrorBox.tsx';
import { BundleDetails } from './BundleDetails.tsx';
import { formatBytes, hex32 } from './format.ts';
import { useActions, useAppContext, useAppStore } from './use-app-store.ts';

async function readFile(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

export function BundlePanel() {
  const { config } = useAppContext();
  const bundle = useAppStore((s) => s.bundle);
  const running = useAppStore((s) => s.job.running);
  const { loadBundle, cancelBundleLoad } = useActions();
  const fileId = useId();
  const urlId = useId();
  const [url, setUrl] = useState('');
  const [dragging, setDragging] = useState(false);

  const loadFile = async (file: File | undefined): Promise<void> => {
    if (!file) return;
    await loadBundle({ kind: 'bytes', name: file.name, bytes: await readFile(file) });
  };
  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDragging(false);
    void loadFile(e.dataTransfer.files[0]);
  };
  const onUrl = (e: FormEvent): void => {
    e.preventDefault();
    if (url.trim()) void loadBundle({ kind: 'url', url: url.trim() });
  };

  return (
    <section
      className={`panel drop-zone${dragging ? ' dragging' : ''}`}
      aria-labelledby="bundle-heading"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <h2 id="bundle-heading">
        <span className="step">2</span> Firmware
      </h2>
      <div className="field-row">
        {config.demoBundleUrl && (
          <button
            type="button"
            disabled={running}
            onClick={() =>
              void loadBundle({
                kind: 'url',
                url: config.demoBundleUrl!,
                label: 'demo.fwb (demo bundle)',
              })
            }
          >
            Load demo bundle
          </button>
        )}
        <label htmlFor={fileId} className="file-label">
          Open bundle file…
        </label>
        <input
          id={fileId}
          type="file"
          accept=".fwb,application/octet-stream"
          className="file-input"
          disabled={running}
          onChange={(e) => void loadFile(e.target.files?.[0])}
        />
      </div>
      <form className="field-row" onSubmit={onUrl}>
        <label htmlFor={urlId}>Bundle URL</label>
        <input
          id={urlId}
          type="url"
          placeholder="https://example.com/firmware.fwb"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          disabled={running}
        />
        <button type="submit" disabled={running || !url.trim()}>
          Load
        </button>
      </form>
      <p className="hint">…or drop a .fwb file here.</p>
      {config.unverifiedAllowed && <RawImageLoader disabled={running} />}

      <div
        className="verdict"
        aria-live="polite"
        data-testid="bundle-verdict"
        data-status={bundle.status}
      >
        {bundle.status === 'loading' && (
          <p>
            Checking {bundle.source}…{' '}
            {bundle.progress && (
              <>
                {formatBytes(bundle.progress.bytesDone)}
                {bundle.progress.bytesTotal !== undefined &&
                  ` of ${formatBytes(bundle.progress.bytesTotal)}`}
              </>
            )}{' '}
            <button type="button" className="link" onClick={cancelBundleLoad}>
              Cancel
            </button>
          </p>
        )}
        {bundle.status === 'verified' && (
          <p className="ok">
            <span aria-hidden="true">✔ </span>Signature verified: {bundle.summary?.product}{' '}
            {bundle.summary?.version}
          </p>
        )}
        {bundle.status === 'unverified' && bundle.raw && (
          <p className="danger" data-testid="unverified-banner">
            <strong>UNVERIFIED</strong> — {bundle.raw.name}, {formatBytes(bundle.raw.data.length)}{' '}
            at {hex32(bundle.raw.address)}. No signature covers this image (development builds
            only).
          </p>
        )}
        {bundle.status === 'rejected' && bundle.error && (
          <ErrorBox error={bundle.error} testId="bundle-error" />
        )}
      </div>
      {bundle.status === 'verified' && bundle.summary && (
        <ProtectedWrites writes={bundle.summary.protectedWrites} />
      )}
      {bundle.status === 'verified' && <RollbackLine />}
      {bundle.status === 'verified' && bundle.url !== undefined && <KeepOffline />}
      {bundle.status === 'verified' && bundle.summary && <BundleDetails summary={bundle.summary} />}
    </section>
  );
}

/** Development builds only: a raw image and its flash address. */
function RawImageLoader(props: { disabled: boolean }) {
  const { loadRawImage } = useActions();
  const fileId = useId();
  const addrId = useId();
  const [address, setAddress] = useState('0x10000');
  const parsed = /^(0x)?[0-9a-f]{1,8}$/i.test(address.trim())
    ? parseInt(address.trim().replace(/^0x/i, ''), 16)
    : undefined;
  return (
    <details className="raw-image">
      <summary>Development: write a raw, unsigned image</summary>
      <div className="field-row">
        <label htmlFor={addrId}>Address</label>
        <input
          id={addrId}
          value={address}
          onChange={(e) => setAddress(e.target.value)}
          aria-invalid={parsed === undefined}
          className="mono"
          size={10}
        />
        <label htmlFor={fileId}>Image file</label>
        <input
          id={fileId}
          type="file"
          accept=".bin"
          disabled={props.disabled || parsed === undefined}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (!file || parsed === undefined) return;
            void readFile(file).then((data) =>
              loadRawImage({ name: file.name, address: parsed, data }),
            );
          }}
        />
      </div>
    </details>
  );
}

/** Anti-rollback status at load time, against the counter recorded for this product. */
/** The protected ranges the release writes (declared in its manifest), before any flash. */
function ProtectedWrites(props: { writes: BundleSummary['protectedWrites'] }) {
  if (props.writes.length === 0) return null;
  return (
    <ul className="rollback-line warn" data-testid="bundle-protected-writes">
      {props.writes.map((w) => (
        <li key={`${w.target} ${w.kind}`}>
          Writes {w.what} on {w.target} ({w.images.join(', ')}): if this write fails, the board may
          not start until it is flashed again.
        </li>
      ))}
    </ul>
  );
}

function RollbackLine() {
  const rollback = useAppStore((s) => s.bundle.rollback);
  const counter = useAppStore((s) => s.bundle.summary?.securityCounter);
  if (!rollback) return null;
  const text = {
    new: `Rollback: no release of this product recorded here yet (counter ${counter}).`,
    ok: `Rollback: OK — counter ${counter} is not below ${rollback.recorded} recorded${rollback.recordedVersion ? ` (version ${rollback.recordedVersion})` : ''}.`,
    downgrade: `Rollback: OLDER release — counter ${counter} is below ${rollback.recorded} recorded${rollback.recordedVersion ? ` (version ${rollback.recordedVersion})` : ''}. Flashing it needs a downgrade override (Advanced options).`,
    unknown: 'Rollback: no record is kept here; the board’s own counter is checked when flashing.',
  }[rollback.status];
  return (
    <p
      className={`rollback-line ${rollback.status === 'downgrade' ? 'warn' : 'hint'}`}
      data-testid="bundle-rollback"
      data-status={rollback.status}
    >
      {text}
    </p>
  );
}

/** "Keep for offline use" for a bundle loaded by URL (service worker cache). */
function KeepOffline() {
  const offline = useAppStore((s) => s.bundle.offline);
  const { keepBundleOffline } = useActions();
  return (
    <div className="field-row" data-testid="keep-offline">
      <label className="check">
        <input
          type="checkbox"
          checked={offline?.kept ?? false}
          disabled={offline?.busy === true || offline?.kept === true}
          onChange={(e) => {
            if (e.target.checked) void keepBundleOffline();
          }}
        />
        Keep for offline use
      </label>
      {offline && !offline.busy && (
        <span className="hint" data-testid="keep-offline-note" role="status">
          {offline.note}
        </span>
      )}
    </div>
  );
}
