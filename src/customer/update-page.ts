/**
 * The iframe-able `/update` page (update.html): one `<webflash-update>` configured from the
 * address, `/update?bundle=…&product=…` (`&transport=usb` for a bundle with serial and USB
 * targets whose device connects over USB). Vendor words and colours come from parameters too;
 * every text goes in as text (never markup) and colours must be plain hex. The allowed origins
 * come only from the build (`VITE_WEBFLASH_ALLOWED_ORIGINS`), never from the address, because
 * anyone can write a link to this page.
 */
import './update-page.css';
import './webflash-update.ts';
import { TAG } from './element.ts';

/** Parameters copied onto the element as attributes. */
const PASSED = ['bundle', 'product', 'board', 'transport', 'label', 'theme', 'demo'] as const;
const HEX_COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
/** Parameters that set a CSS custom property, when they hold a hex colour. */
const COLOURS: Record<string, string> = {
  accent: '--webflash-accent',
  'accent-text': '--webflash-accent-text',
};

/**
 * The element for these page parameters.
 * @example buildUpdater(new URLSearchParams('bundle=/fw/app.fwb&product=widget'))
 */
export function buildUpdater(params: URLSearchParams): HTMLElement {
  const el = document.createElement(TAG);
  for (const name of PASSED) {
    const value = params.get(name);
    if (value !== null) el.setAttribute(name, value);
  }
  for (const [name, property] of Object.entries(COLOURS)) {
    const value = params.get(name);
    if (value !== null && HEX_COLOUR.test(value)) el.style.setProperty(property, value);
  }
  return el;
}

const params = new URLSearchParams(location.search);
const heading = params.get('heading');
const h1 = document.getElementById('heading');
if (h1 && heading !== null) {
  h1.textContent = heading;
  h1.hidden = heading.trim() === '';
}
if (heading !== null && heading.trim() !== '') document.title = heading;
const theme = params.get('theme');
if (theme === 'light' || theme === 'dark') document.documentElement.style.colorScheme = theme;
document.getElementById('updater')?.replaceWith(buildUpdater(params));
