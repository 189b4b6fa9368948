/**
 * `<webflash-update>`: the customer updater as a custom element (HTML Living Standard, "Custom
 * elements"), plain DOM in an open shadow root over the state machine in flow.ts. It follows
 * the ESP Web Tools pattern: vendor words go in slots (`activate`, `unsupported`, `not-allowed`,
 * plus `choose-again`, `success` and `help`), styling through CSS custom properties and `::part()`.
 *
 * Attributes: `bundle` (the update file), `product` (its product id: required, unless the build
 * sets `VITE_WEBFLASH_PRODUCT`; without it the element refuses to start), `board` (board id, for
 * products whose targets share a chip), `allowed-origins` (further origins bundles may come
 * from), `transport` (`serial` / `usb`: which kind of connection a bundle with both uses),
 * `label` (the button's text), `theme` (`light` / `dark`), `demo` (`off` uses real ports in demo
 * builds), `virtual-board` (demo builds: the virtual board or USB device the chooser offers).
 * The host mirrors the screen in `data-state` and fires `webflash-state`.
 */
import type { RollbackStore } from '../bundle/rollback-store.ts';
import { MemoryRollbackStore } from '../bundle/rollback-store.ts';
import { asWebflashError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { DEMO_PRODUCT, type CustomerConfig } from './config.ts';
import { createUpdater, type Updater, type UpdaterState } from './flow.ts';
import { parseOriginList, resolveBundleUrl, type OriginPolicy } from './origins.ts';
import { createCustomerServices, USABLE_TRANSPORTS } from './services.ts';
import { ELEMENT_CSS } from './styles.ts';
import { detectSupport, readEnvironment, type Transport } from './support.ts';
import { parseTransport } from './transport-choice.ts';
import { viewOf, type ViewModel } from './view.ts';

/** Virtual boards for demo builds, loaded on demand. */
export interface VirtualBoards {
  serial: Serial;
  usb: USB;
  /**
   * Puts a board of type `board` (or the default for `transport`) on the bench for the
   * chooser of `transport`.
   */
  prepare(board: string | undefined, transport: Transport): void;
}

/** What the element needs from the page's build. */
export interface ElementRuntime {
  config: CustomerConfig;
  /** Demo builds only: installs the virtual boards (a dynamic import). */
  virtualBoards?: (() => Promise<VirtualBoards>) | undefined;
  /** The anti-rollback history for real devices (IndexedDB in the browser). */
  rollbackStore: () => RollbackStore;
}

/** The element's tag. */
export const TAG = 'webflash-update';

const TEMPLATE = `
<div class="box" part="container" role="group" aria-labelledby="title">
  <strong class="title" part="title" id="title" tabindex="-1"></strong>
  <slot name="unsupported" hidden><div class="explain"></div></slot>
  <slot name="not-allowed" hidden><div class="explain"></div></slot>
  <p class="message" part="message"></p>
  <div class="progress" part="progress" role="progressbar" aria-labelledby="title"
       aria-valuemin="0" aria-valuemax="100" hidden><div class="bar" part="progress-bar"></div></div>
  <p class="time-left" part="time-left" hidden></p>
  <ol class="steps" part="steps" hidden></ol>
  <div class="activate"><slot name="activate"><button type="button" part="button" class="go"></button></slot></div>
  <button type="button" part="button retry" class="retry" hidden>Try again</button>
  <div class="choose-again" hidden><slot name="choose-again"></slot><button type="button" part="button choose-again" class="choose">Choose device</button>
    <button type="button" part="button give-up" class="give-up" hidden>Stop the update</button></div>
  <slot name="success" hidden></slot>
  <slot name="help" hidden></slot>
  <p class="demo-note" part="demo-note" hidden>Demo: a virtual device stands in for a real one.</p>
  <div class="sr-only" role="status" aria-live="polite" aria-atomic="true"></div>
</div>`;

let runtime: ElementRuntime | undefined;
let boards: Promise<VirtualBoards> | undefined;

/** The custom element class. */
export class WebflashUpdateElement extends HTMLElement {
  static readonly observedAttributes = [
    'bundle',
    'product',
    'board',
    'allowed-origins',
    'transport',
    'label',
  ];

  private readonly root: ShadowRoot;
  private updater: Updater | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastAnnounce = '';
  private lastKind = '';
  private generation = 0;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    adoptStyles(this.root);
    const template = document.createElement('template');
    template.innerHTML = TEMPLATE; // a constant: no page or vendor text goes through innerHTML
    this.root.append(template.content.cloneNode(true));
    this.q('.go').textContent = 'Update firmware'; // `label` arrives in attributeChangedCallback
    this.q('slot[name="activate"]').addEventListener('click', () => void this.updater?.start());
    this.q('.retry').addEventListener('click', () => void this.updater?.retry());
    this.q('.choose').addEventListener('click', () => void this.updater?.chooseAgain());
    this.q('.give-up').addEventListener('click', () => this.updater?.giveUp());
  }

  /** The updater's current state (read-only), e.g. for the vendor's page scripts. */
  get state(): UpdaterState | undefined {
    return this.updater?.store.getState();
  }

  connectedCallback(): void {
    if (!this.updater) void this.setUp();
  }

  disconnectedCallback(): void {
    this.tearDown();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (name === 'label') {
      this.q('.go').textContent = value ?? 'Update firmware';
      return;
    }
    // A new update file or policy: start over, unless an install is under way. Before the
    // first set-up there is nothing to redo: set-up reads the attributes when it runs.
    if (!this.updater) return;
    const kind = this.updater.store.getState().screen.kind;
    if (
      old === value ||
      !this.isConnected ||
      kind === 'installing' ||
      kind === 'choosing' ||
      kind === 'choose-again'
    ) {
      return;
    }
    this.tearDown();
    void this.setUp();
  }

  private q<T extends Element = HTMLElement>(selector: string): T {
    return this.root.querySelector<T>(selector)!;
  }

  private async setUp(): Promise<void> {
    const rt = runtime;
    if (!rt) return;
    const generation = ++this.generation;
    const { config } = rt;
    // Decided on the real browser before any virtual board could stand in for Web Serial.
    const support = detectSupport(readEnvironment(), { usable: USABLE_TRANSPORTS });
    let virtual: VirtualBoards | undefined;
    if (
      support.ok &&
      config.virtualBoards &&
      rt.virtualBoards &&
      !isOff(this.getAttribute('demo'))
    ) {
      boards ??= rt.virtualBoards();
      virtual = await boards;
      if (generation !== this.generation) return;
    }
    const log = createLogger(
      (e) => {
        if (e.level === 'warn' || e.level === 'error') console.warn(`webflash: ${e.message}`);
      },
      () => Date.now(),
      'customer',
    );
    let policy: OriginPolicy = { pageOrigin: location.origin, allowedOrigins: config.buildOrigins };
    let policyError: unknown;
    let transport: Transport | undefined;
    try {
      transport = parseTransport(this.getAttribute('transport'));
      policy = {
        ...policy,
        allowedOrigins: [
          ...config.buildOrigins,
          ...parseOriginList(this.getAttribute('allowed-origins')),
        ],
      };
    } catch (err) {
      policyError = err;
    }
    const services = createCustomerServices({
      buildMode: config.buildMode,
      productionRoot: config.productionRoot,
      policy,
      // Virtual boards start blank each visit, so their history lives in memory only.
      rollbackStore: virtual ? new MemoryRollbackStore() : rt.rollbackStore(),
      serial: virtual?.serial,
      usb: virtual?.usb,
      prepareVirtualBoard: virtual
        ? (t) => virtual.prepare(this.getAttribute('virtual-board') ?? undefined, t)
        : undefined,
      logger: log,
    });
    const named = this.getAttribute('bundle');
    const bundle = named ?? (virtual ? config.demoBundleUrl : undefined);
    this.updater = createUpdater({
      services,
      support,
      // The page's word, else the build's; the demo bundle knows its own product.
      product:
        this.getAttribute('product') ??
        config.product ??
        (named === null && virtual ? DEMO_PRODUCT : undefined),
      board: this.getAttribute('board') ?? undefined,
      transport,
      bundleUrl: () => {
        if (policyError !== undefined) throw asWebflashError(policyError, 'transport.io');
        return resolveBundleUrl(bundle, { ...policy, base: document.baseURI });
      },
    });
    this.q('.demo-note').hidden = !virtual;
    this.unsubscribe = this.updater.store.subscribe((s) => this.render(s));
    this.render(this.updater.store.getState());
    await this.updater.prepare();
  }

  private tearDown(): void {
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.updater?.dispose();
    this.updater = undefined;
    window.removeEventListener('beforeunload', onBeforeUnload);
  }

  private render(state: UpdaterState): void {
    const v = viewOf(state);
    const box = this.q('.box');
    box.dataset['tone'] = v.tone;
    this.dataset['state'] = v.state;
    this.setAttribute('aria-busy', String(v.tone === 'busy'));
    this.q('.title').textContent = v.title;
    this.renderExplanation(v);
    this.renderProgress(v);
    // With an explanation slot shown, its fallback holds the message and steps instead.
    const own = v.explanation === undefined;
    const steps = this.q('ol[part="steps"]');
    steps.replaceChildren(...(own ? listItems(v.steps) : []));
    steps.hidden = !own || v.steps.length === 0;
    this.q('.activate').hidden = !v.activate;
    this.q('.retry').hidden = !v.retry;
    this.q('.choose-again').hidden = !v.chooseAgain;
    this.q('.give-up').hidden = !v.giveUp;
    this.q('slot[name="success"]').hidden = !v.success;
    this.q('slot[name="help"]').hidden = !v.help;
    if (v.announce !== this.lastAnnounce) {
      this.lastAnnounce = v.announce;
      this.q('[role="status"]').textContent = v.announce;
    }
    if (v.state === 'installing') window.addEventListener('beforeunload', onBeforeUnload);
    else window.removeEventListener('beforeunload', onBeforeUnload);
    if (v.state !== this.lastKind) {
      this.lastKind = v.state;
      // Land keyboard users on the outcome.
      if (v.state === 'failed') (v.retry ? this.q('.retry') : this.q('.title')).focus();
      if (v.state === 'success') this.q('.title').focus();
      if (v.chooseAgain) this.q('.choose').focus();
      this.dispatchEvent(
        new CustomEvent('webflash-state', {
          detail: { state: v.state },
          bubbles: true,
          composed: true,
        }),
      );
    }
  }

  private renderExplanation(v: ViewModel): void {
    for (const name of ['unsupported', 'not-allowed'] as const) {
      const slot = this.q<HTMLSlotElement>(`slot[name="${name}"]`);
      slot.hidden = v.explanation !== name;
      if (v.explanation === name) {
        const p = document.createElement('p');
        p.className = 'message';
        p.textContent = v.message;
        const ol = document.createElement('ol');
        ol.className = 'steps';
        ol.replaceChildren(...listItems(v.steps));
        slot.querySelector('.explain')!.replaceChildren(p, ol);
      } else {
        slot.querySelector('.explain')!.replaceChildren();
      }
    }
    const message = this.q('p[part="message"]');
    message.textContent = v.explanation === undefined ? v.message : '';
    message.hidden = v.explanation !== undefined;
  }

  private renderProgress(v: ViewModel): void {
    const bar = this.q('.progress');
    bar.hidden = v.percent === undefined;
    if (v.percent === null || v.percent === undefined) {
      bar.removeAttribute('aria-valuenow');
      bar.removeAttribute('aria-valuetext');
      bar.toggleAttribute('data-indeterminate', v.percent === null);
      this.q('.bar').style.width = '';
    } else {
      bar.removeAttribute('data-indeterminate');
      bar.setAttribute('aria-valuenow', String(v.percent));
      bar.setAttribute(
        'aria-valuetext',
        `${v.percent} percent${v.timeLeft ? `, ${v.timeLeft.toLowerCase()}` : ''}`,
      );
      this.q('.bar').style.width = `${v.percent}%`;
    }
    const left = this.q('.time-left');
    left.textContent = v.timeLeft ?? '';
    left.hidden = v.timeLeft === undefined;
  }
}

let sheet: CSSStyleSheet | undefined;

/**
 * Styles through a constructable style sheet (CSSOM §6.2), which a strict Content-Security-Policy
 * without 'unsafe-inline' does not block, unlike a `<style>` element; a `<style>` only where the
 * browser lacks `adoptedStyleSheets`.
 */
function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function') {
    try {
      sheet ??= new CSSStyleSheet();
      if (sheet.cssRules.length === 0) sheet.replaceSync(ELEMENT_CSS);
      root.adoptedStyleSheets = [sheet];
      return;
    } catch {
      // fall through
    }
  }
  const style = document.createElement('style');
  style.textContent = ELEMENT_CSS;
  root.append(style);
}

function listItems(texts: readonly string[]): HTMLLIElement[] {
  return texts.map((t) => Object.assign(document.createElement('li'), { textContent: t }));
}

function onBeforeUnload(event: BeforeUnloadEvent): void {
  // Leaving mid-install leaves the device without working firmware: ask first.
  event.preventDefault();
}

function isOff(value: string | null): boolean {
  return value === 'off' || value === '0' || value === 'false';
}

/**
 * Registers `<webflash-update>` (once) with the page's build configuration.
 * @example defineWebflashUpdate({ config, rollbackStore: () => new IdbRollbackStore() });
 */
export function defineWebflashUpdate(rt: ElementRuntime): void {
  runtime ??= rt;
  if (!customElements.get(TAG)) customElements.define(TAG, WebflashUpdateElement);
}

declare global {
  interface HTMLElementTagNameMap {
    'webflash-update': WebflashUpdateElement;
  }
}
