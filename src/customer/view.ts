/**
 * What the element shows for a state of the updater: plain data, so the words and the choice of
 * controls are unit-tested without a DOM. The element (element.ts) only copies it into its
 * shadow tree.
 */
import type { InstallStep, UpdaterState } from './flow.ts';
import { timeLeftText } from './messages.ts';

/** Which vendor slot replaces the built-in explanation. */
type ExplanationSlot = 'unsupported' | 'not-allowed';

export interface ViewModel {
  /** The screen's name, mirrored in the host's `data-state` attribute. */
  state: UpdaterState['screen']['kind'];
  tone: 'neutral' | 'busy' | 'success' | 'error';
  title: string;
  message: string;
  steps: readonly string[];
  /** `undefined`: no bar; `null`: a bar without a known percentage. */
  percent: number | null | undefined;
  timeLeft: string | undefined;
  /** Show the one button (or the vendor's `activate` slot). */
  activate: boolean;
  /** Show "Try again". */
  retry: boolean;
  /** Show "Choose device" (the device must be chosen again) and the vendor's `choose-again` slot. */
  chooseAgain: boolean;
  /** Show "Stop the update" next to it (after the chooser was closed without a choice). */
  giveUp: boolean;
  /** A vendor slot that may replace the built-in explanation. */
  explanation: ExplanationSlot | undefined;
  /** Show the vendor's `success` / `help` slots. */
  success: boolean;
  help: boolean;
  /** What a screen reader announces (aria-live), coarse enough not to chatter. */
  announce: string;
}

const STEP_TITLE: Record<InstallStep, string> = {
  connecting: 'Connecting to your device…',
  checking: 'Checking that the update fits your device…',
  installing: 'Installing the update…',
  verifying: 'Checking the installed update…',
  restarting: 'Restarting your device…',
};

const CHOOSE_AGAIN = 'Your device restarted in update mode. Choose it again to continue.';
const NOT_CHOSEN = 'No device was chosen. Press Choose device to try again, or stop the update.';

const KEEP_PLUGGED = 'Keep your device plugged in and this page open until the update finishes.';

/**
 * The view of `state`.
 * @example viewOf({ screen: { kind: 'loading', percent: undefined }, release: undefined, device: undefined }).title
 *   // 'Getting the update ready…'
 */
export function viewOf(state: UpdaterState): ViewModel {
  const s = state.screen;
  const release = state.release ? `${state.release.product} ${state.release.version}` : undefined;
  const base = {
    state: s.kind,
    steps: [] as string[],
    percent: undefined as number | null | undefined,
    timeLeft: undefined as string | undefined,
    activate: false,
    retry: false,
    chooseAgain: false,
    giveUp: false,
    explanation: undefined as ExplanationSlot | undefined,
    success: false,
    help: false,
  };
  switch (s.kind) {
    case 'unsupported':
      return {
        ...base,
        tone: 'error',
        title: s.text.title,
        message: s.text.message,
        steps: s.text.steps,
        explanation:
          s.reason === 'insecure' || s.reason === 'blocked-by-embedder'
            ? 'not-allowed'
            : 'unsupported',
        announce: s.text.title,
      };
    case 'loading':
      return {
        ...base,
        tone: 'busy',
        title: 'Getting the update ready…',
        message: 'Downloading and checking the update file.',
        percent: s.percent ?? null,
        announce: 'Getting the update ready',
      };
    case 'ready':
      return {
        ...base,
        tone: 'neutral',
        title: 'An update is ready',
        message: `${release ? `${release} is ready to install. ` : ''}Connect your device to this computer with a USB cable, then press the button.`,
        steps: s.note ? [s.note] : [],
        activate: true,
        announce: s.note ?? 'An update is ready',
      };
    case 'choosing':
      return {
        ...base,
        tone: 'busy',
        title: 'Choose your device',
        message: 'Pick your device in the list your browser shows, then press Connect.',
        announce: 'Choose your device in the browser’s list',
      };
    case 'choose-again':
      return {
        ...base,
        tone: 'neutral',
        title: 'One more step',
        message: CHOOSE_AGAIN,
        steps: s.cancelled ? [NOT_CHOSEN] : [],
        chooseAgain: true,
        giveUp: s.cancelled,
        announce: s.cancelled ? NOT_CHOSEN : CHOOSE_AGAIN,
      };
    case 'installing': {
      const percent = s.step === 'installing' || s.step === 'verifying' ? s.percent : undefined;
      const shown = percent ?? null;
      return {
        ...base,
        tone: 'busy',
        title: STEP_TITLE[s.step],
        message: KEEP_PLUGGED,
        percent: shown,
        timeLeft: timeLeftText(s.msLeft),
        announce:
          percent === undefined
            ? STEP_TITLE[s.step]
            : `${STEP_TITLE[s.step]} ${Math.floor(percent / 10) * 10} percent`,
      };
    }
    case 'success':
      return {
        ...base,
        tone: 'success',
        title: 'Your device is up to date',
        message: `${release ? `${release} is installed. ` : 'The update is installed. '}${s.notice ?? 'You can unplug your device now.'}`,
        percent: 100,
        success: true,
        announce: 'Update finished. Your device is up to date',
      };
    case 'failed':
      return {
        ...base,
        tone: 'error',
        title: s.text.title,
        message: s.text.message,
        steps: s.text.steps,
        retry: s.retry !== 'none',
        help: true,
        announce: `${s.text.title}. ${s.text.message}`,
      };
  }
}
