/** The release hash in the report and the flash log is the SHA-256 of the bundle file itself. */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { verifyBundle } from '../../src/bundle/verify.ts';
import { toHex } from '../../src/core/bytes.ts';
import { bundleInfo } from '../../src/bench/state/bundle-slice.ts';
import { goodBundle, NOW, pinnedTestRoot } from '../bundle/fixtures.ts';

describe('bundleInfo', () => {
  it('hashes the file as loaded and names product, version and chips', async () => {
    const bytes = goodBundle();
    const copy = bytes.slice();
    const verified = await verifyBundle(bytes, { trustRoot: pinnedTestRoot(), now: NOW });
    const info = bundleInfo(verified, 'a.fwb');
    expect(info).toMatchObject({
      product: 'acme-sensor',
      version: '1.4.2',
      sha256: toHex(sha256(copy)),
      bundleBytes: copy.length,
      source: 'a.fwb',
    });
    expect(info.chips.length).toBeGreaterThan(0);
    expect(bytes).toEqual(copy);
  });
});
