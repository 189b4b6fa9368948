/**
 * Can this browser, on this page, update a board? Web Serial (WICG Web Serial API §3) and WebUSB
 * (WICG WebUSB §3) exist only in secure contexts (W3C Secure Contexts §3.1: https, or http on
 * localhost), only in some desktop browsers, and inside an iframe only when the embedding page
 * delegates them (`allow="serial; usb"`, W3C Permissions Policy §9). `detectSupport` decides
 * from a plain snapshot of the environment, so every branch is unit-tested without a browser;
 * `readEnvironment` takes that snapshot from the real page.
 */

/** What the page can use. */
export type Transport = 'serial' | 'usb';

/** Why an update cannot run here. */
export type UnsupportedReason =
  /** http on a host that is not localhost: the browser hides Web Serial and WebUSB. */
  | 'insecure'
  /** Inside an iframe whose embedding page did not allow serial/usb. */
  | 'blocked-by-embedder'
  /** A phone or tablet. */
  | 'mobile'
  /** A desktop browser without Web Serial and WebUSB (Firefox, Safari). */
  | 'no-api';

export type Support =
  { ok: true; transports: readonly Transport[] } | { ok: false; reason: UnsupportedReason };

/** The facts `detectSupport` decides on. */
export interface EnvironmentSnapshot {
  /** `window.isSecureContext` (`undefined` in engines that lack it). */
  isSecureContext: boolean | undefined;
  /** `location.protocol` ("https:", "http:"). */
  protocol: string;
  /** `location.hostname`. */
  hostname: string;
  /** `'serial' in navigator`. */
  hasSerial: boolean;
  /** `'usb' in navigator`. */
  hasUsb: boolean;
  /** `window.top !== window`. */
  inIframe: boolean;
  /**
   * What the page's permissions policy says about `serial` and `usb` (`document.featurePolicy`
   * / `document.permissionsPolicy`); `undefined` where the browser cannot tell.
   */
  policyAllows?: { serial: boolean | undefined; usb: boolean | undefined } | undefined;
  /** `navigator.userAgent`. */
  userAgent: string;
  /** `navigator.userAgentData?.mobile`, where the browser has it. */
  uaMobile?: boolean | undefined;
}

const LOCAL_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$|\.localhost$/i;
const MOBILE_UA = /Android|iPhone|iPad|iPod|Mobile|Silk|Kindle|Opera Mini/i;

/**
 * True when the address is one browsers treat as potentially trustworthy over http
 * (W3C Secure Contexts §3.2: localhost names and loopback addresses).
 */
export function isLocalHost(hostname: string): boolean {
  return LOCAL_HOSTS.test(hostname);
}

/** True for phones and tablets, from client hints when present, else the user-agent string. */
export function isMobile(env: Pick<EnvironmentSnapshot, 'userAgent' | 'uaMobile'>): boolean {
  if (env.uaMobile !== undefined) return env.uaMobile || /iPad|Android/i.test(env.userAgent);
  return MOBILE_UA.test(env.userAgent);
}

/**
 * Decides whether an update can run, and if not, why. `usable` names the transports the caller
 * can drive (default both): a phone with WebUSB but no Web Serial cannot run a serial-only
 * updater. Order matters: an insecure page hides the
 * APIs, so "use https" is the actionable answer there, not "use another browser"; a blocking
 * iframe policy is the embedder's to fix; a phone cannot be fixed by a browser switch.
 * @example detectSupport({ isSecureContext: false, protocol: 'http:', hostname: 'shop.example', … })
 *   // { ok: false, reason: 'insecure' }
 */
export function detectSupport(
  env: EnvironmentSnapshot,
  options: { usable?: readonly Transport[] } = {},
): Support {
  const usable = options.usable ?? ['serial', 'usb'];
  // The browser's own verdict is authoritative (it also covers an https frame inside an http
  // page); older engines without `isSecureContext` fall back to the address rules.
  const secure =
    env.isSecureContext ??
    (env.protocol === 'https:' || (env.protocol === 'http:' && isLocalHost(env.hostname)));
  if (!secure) return { ok: false, reason: 'insecure' };

  const policy = env.policyAllows;
  const hasSerial = env.hasSerial && usable.includes('serial');
  const hasUsb = env.hasUsb && usable.includes('usb');
  const serial = hasSerial && policy?.serial !== false;
  const usb = hasUsb && policy?.usb !== false;
  const transports: Transport[] = [];
  if (serial) transports.push('serial');
  if (usb) transports.push('usb');
  if (transports.length > 0) return { ok: true, transports };

  // The APIs exist but the embedding page's policy switches them off.
  if (env.inIframe && (hasSerial || hasUsb)) {
    return { ok: false, reason: 'blocked-by-embedder' };
  }
  if (isMobile(env)) return { ok: false, reason: 'mobile' };
  return { ok: false, reason: 'no-api' };
}

interface PolicyLike {
  allowsFeature(feature: string): boolean;
}

function policyOf(doc: Document): PolicyLike | undefined {
  const d = doc as Document & { permissionsPolicy?: PolicyLike; featurePolicy?: PolicyLike };
  return d.permissionsPolicy ?? d.featurePolicy;
}

function allows(policy: PolicyLike | undefined, feature: string): boolean | undefined {
  if (!policy) return undefined;
  try {
    return policy.allowsFeature(feature);
  } catch {
    return undefined;
  }
}

/** The snapshot of the current page (browser only). */
export function readEnvironment(win: Window = window): EnvironmentSnapshot {
  const nav = win.navigator as Navigator & { userAgentData?: { mobile?: boolean } };
  const policy = policyOf(win.document);
  let inIframe: boolean;
  try {
    inIframe = win.top !== win;
  } catch {
    inIframe = true; // a cross-origin top throws on some browsers: we are framed
  }
  return {
    isSecureContext: win.isSecureContext,
    protocol: win.location.protocol,
    hostname: win.location.hostname,
    hasSerial: 'serial' in nav && nav.serial !== undefined,
    hasUsb: 'usb' in nav && nav.usb !== undefined,
    inIframe,
    policyAllows: policy
      ? { serial: allows(policy, 'serial'), usb: allows(policy, 'usb') }
      : undefined,
    userAgent: nav.userAgent,
    uaMobile: nav.userAgentData?.mobile,
  };
}
