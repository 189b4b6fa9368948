/**
 * The release picker the technician console and the bench both show: the demo bundle (demo
 * builds only), a bundle file, and optionally a URL. It only reports what was picked; the face's
 * store loads and verifies it.
 */
import { useId, useState, type FormEvent } from 'react';
import type { BundleInput } from '../app/types.ts';

export interface BundlePickerProps {
  disabled: boolean;
  /** The demo bundle's URL, in demo builds. */
  demoBundleUrl?: string | undefined;
  /** The demo bundle's name in the log ("demo.fwb (demo bundle)"). */
  demoLabel: string;
  /** Also offer a field for the bundle's URL. */
  withUrl?: boolean;
  /** Class of the row holding the buttons (each face lays out its own panel). */
  rowClassName: string;
  onPick: (input: BundleInput) => void;
}

/** Reads a picked or dropped file as a bundle input. */
export async function bundleFromFile(file: File): Promise<BundleInput> {
  return { kind: 'bytes', name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

export function BundlePicker(props: BundlePickerProps) {
  const { disabled, demoBundleUrl, onPick } = props;
  const fileId = useId();
  const urlId = useId();
  const [url, setUrl] = useState('');
  const onUrl = (e: FormEvent): void => {
    e.preventDefault();
    if (url.trim()) onPick({ kind: 'url', url: url.trim() });
  };
  return (
    <>
      <div className={props.rowClassName}>
        {demoBundleUrl && (
          <button
            type="button"
            disabled={disabled}
            onClick={() => onPick({ kind: 'url', url: demoBundleUrl, label: props.demoLabel })}
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
          disabled={disabled}
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) void bundleFromFile(file).then(onPick);
          }}
        />
      </div>
      {props.withUrl && (
        <form className={props.rowClassName} onSubmit={onUrl}>
          <label htmlFor={urlId}>Bundle URL</label>
          <input
            id={urlId}
            type="url"
            placeholder="https://example.com/firmware.fwb"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            disabled={disabled}
          />
          <button type="submit" disabled={disabled || !url.trim()}>
            Load
          </button>
        </form>
      )}
    </>
  );
}
