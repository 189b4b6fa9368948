/** What a verified bundle contains: release facts, signatures against the threshold, targets. */
import type { BundleSummary } from '../state/index.ts';
import { usbId } from '../../transport/usb.ts';
import { formatBytes, formatUtc, hex32 } from './format.ts';

export function BundleDetails(props: { summary: BundleSummary }) {
  const s = props.summary;
  return (
    <div className="details" data-testid="bundle-details">
      <dl className="facts">
        <dt>Product</dt>
        <dd>{s.product}</dd>
        <dt>Version</dt>
        <dd>{s.version}</dd>
        <dt>Security counter</dt>
        <dd>{s.securityCounter}</dd>
        <dt>Created</dt>
        <dd>{formatUtc(s.created)}</dd>
        <dt>Expires</dt>
        <dd>{formatUtc(s.expires)}</dd>
        <dt>Signatures</dt>
        <dd data-testid="bundle-signers">
          {s.signers.length} valid, {s.threshold} required (trust root v{s.rootVersion})
          <ul className="keys">
            {s.signers.map((k) => (
              <li key={k} className="mono" title={k} data-testid="signer">
                {k.slice(0, 16)}…
              </li>
            ))}
          </ul>
        </dd>
        <dt>Size</dt>
        <dd>{formatBytes(s.bundleBytes)}</dd>
        <dt>Bundle SHA-256</dt>
        <dd className="mono hash" data-testid="bundle-sha256">
          {s.bundleSha256}
        </dd>
        {s.notes && (
          <>
            <dt>Notes</dt>
            <dd>{s.notes}</dd>
          </>
        )}
      </dl>
      {s.targets.map((t, i) => (
        <table key={`${t.chip}-${t.board ?? ''}-${i}`} className="images">
          <caption>
            Target {t.chip}
            {t.board ? ` / ${t.board}` : ''} ({t.protocol}
            {t.usb ? `, USB ${usbId(t.usb.vendorId, t.usb.productId)}` : ''})
          </caption>
          <thead>
            <tr>
              <th scope="col">Image</th>
              <th scope="col">Address</th>
              <th scope="col">Size</th>
              <th scope="col">SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {t.images.map((im) => (
              <tr key={im.name}>
                <td>{im.name}</td>
                <td className="mono">
                  {im.address !== undefined ? hex32(im.address) : `slot ${im.slot ?? 0}`}
                </td>
                <td>{formatBytes(im.size)}</td>
                <td className="mono hash" title={im.sha256}>
                  {im.sha256.slice(0, 16)}…
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}
