/**
 * esptool's flasher stub images as data for the customer updater: each chip's
 * `stub_flasher/<chip>.json` is emitted as a static asset (Vite `?url`) and fetched only when
 * that chip is connected, so none of it counts as the element's JavaScript. The ESP driver checks
 * what this returns (src/protocols/esp/stub.ts `parseStubJson`); if the fetch fails it updates
 * through the ROM loader instead (connect.ts `startStub`).
 */
import esp32Stub from 'esptool-js/lib/targets/stub_flasher/esp32.json?url';
import esp32c3Stub from 'esptool-js/lib/targets/stub_flasher/esp32c3.json?url';
import esp32c6Stub from 'esptool-js/lib/targets/stub_flasher/esp32c6.json?url';
import esp32h2Stub from 'esptool-js/lib/targets/stub_flasher/esp32h2.json?url';
import esp32s2Stub from 'esptool-js/lib/targets/stub_flasher/esp32s2.json?url';
import esp32s3Stub from 'esptool-js/lib/targets/stub_flasher/esp32s3.json?url';
import esp8266Stub from 'esptool-js/lib/targets/stub_flasher/esp8266.json?url';
import { TransportError } from '../core/errors.ts';
import type { EspChipId } from '../protocols/esp/chips.ts';
import type { StubLoader } from '../protocols/esp/stub.ts';

/** Built asset URL of each chip's stub JSON. */
const STUB_URLS: Readonly<Record<EspChipId, string>> = {
  esp8266: esp8266Stub,
  esp32: esp32Stub,
  esp32s2: esp32s2Stub,
  esp32s3: esp32s3Stub,
  esp32c3: esp32c3Stub,
  esp32c6: esp32c6Stub,
  esp32h2: esp32h2Stub,
};

/**
 * Fetches and parses the stub JSON for `chip` (a `StubLoader`). The URL is resolved against
 * this script, so it also works when the element is served from another origin than the page.
 * @throws {TransportError} 'transport.io' when the file cannot be fetched or is not JSON.
 */
export const fetchStubJson: StubLoader = async (chip) => {
  const url = new URL(STUB_URLS[chip], import.meta.url);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw stubError(chip, url, 'the request failed', err);
  }
  if (!response.ok) throw stubError(chip, url, `the server answered ${response.status}`);
  try {
    return (await response.json()) as unknown;
  } catch (err) {
    throw stubError(chip, url, 'it is not valid JSON', err);
  }
};

function stubError(chip: string, url: URL, why: string, cause?: unknown): TransportError {
  return new TransportError(
    'transport.io',
    `Could not load the flasher stub for ${chip} from ${url.href}: ${why}`,
    {
      cause,
      hints: ['The update continues through the slower ROM loader.'],
    },
  );
}
