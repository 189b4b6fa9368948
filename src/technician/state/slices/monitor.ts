/**
 * Monitor slice: a serial monitor that opens the board's port after a flash so the technician
 * sees the new firmware boot. For an ESP board it first restarts the chip into its application
 * with the auto-reset lines (esptool "hard_reset": RTS pulses EN low while DTR keeps IO0 high;
 * the USB-Serial/JTAG bridge reads the same pattern). A USB-native board that re-enumerates is
 * followed: the port is looked up again (`refreshPort`, Web Serial `getPorts`) and reopened.
 * The port is closed when the technician stops the monitor or starts another flash.
 *
 * Read loop after the Web Serial reference (serial-terminal): read until an error, take the
 * port again after a recoverable one, always close in `finally`.
 */
import { sleep } from '../../../core/clock.ts';
import { AbortError, TransportError, WebflashError } from '../../../core/errors.ts';
import type { SerialLink } from '../../../transport/link.ts';
import { toErrorView } from '../../../app/error-view.ts';
import { MonitorText } from '../../../app/monitor-text.ts';
import type { AppServices, ErrorView, SelectedPort } from '../../../app/types.ts';
import type { AppSlice, AppState } from './slice.ts';
import { storeLogger } from './store-log.ts';

/** `waiting`: the board is away (re-enumerating) and the monitor looks for it again. */
export type MonitorStatus = 'closed' | 'opening' | 'open' | 'waiting' | 'error';

export interface MonitorState {
  status: MonitorStatus;
  /** What the board printed (escape sequences removed, newest `MAX_MONITOR_CHARS`). */
  text: string;
  /** While paused the view keeps its text; what arrives meanwhile is shown on resume. */
  paused: boolean;
  /** The speed the port is open at. */
  baudRate: number | undefined;
  error: ErrorView | undefined;
}

export interface MonitorSlice {
  monitor: MonitorState;
  /**
   * Opens the chosen serial port at the monitor speed and shows what arrives. `reset` (default
   * true for ESP boards) restarts the chip into its application first. Resolves when the
   * monitor has stopped (Stop, another flash, or an error it shows). Never rejects.
   */
  startMonitor: (options?: { reset?: boolean }) => Promise<void>;
  /** Stops reading and closes the port; resolves once it is closed. */
  stopMonitor: () => Promise<void>;
  clearMonitor: () => void;
  setMonitorPaused: (paused: boolean) => void;
}

export const closedMonitor: MonitorState = {
  status: 'closed',
  text: '',
  paused: false,
  baudRate: undefined,
  error: undefined,
};

/** How long the monitor looks for a board that went away (USB re-enumeration), ms. */
export const MONITOR_RETURN_TIMEOUT_MS = 15_000;
/** Pause between looks, ms. */
const LOOK_INTERVAL_MS = 250;
/** How long RTS holds EN low for the reset (esptool uses 100 ms). */
const RESET_PULSE_MS = 100;

export function createMonitorSlice(services: AppServices): AppSlice<MonitorSlice> {
  return (set, get) => {
    const log = storeLogger(get, services, 'monitor');
    let run: { controller: AbortController; done: Promise<void> } | undefined;
    let decoder = new MonitorText();

    const patch = (m: Partial<MonitorState>): void =>
      set((s) => ({ monitor: { ...s.monitor, ...m } }));

    const onBytes = (bytes: Uint8Array): void => {
      const text = decoder.push(bytes);
      if (!get().monitor.paused) patch({ text });
    };

    /** The port again (re-enumerated boards get a new port object), and the store updated. */
    const lookAgain = async (port: SelectedPort): Promise<SelectedPort> => {
      if (!services.refreshPort) return port;
      try {
        const found = await services.refreshPort(port);
        if (found !== port && get().port === port) set({ port: found });
        return found;
      } catch {
        return port;
      }
    };

    /** Opens the port, looking for the board again until it is back or time runs out. */
    const open = async (baudRate: number, signal: AbortSignal): Promise<SerialLink> => {
      const deadline = services.clock.now() + MONITOR_RETURN_TIMEOUT_MS;
      let lastError: unknown;
      for (;;) {
        if (signal.aborted) throw new AbortError();
        const current = get().port;
        if (!current) throw new TransportError('transport.closed', 'No port is chosen.');
        const port = await lookAgain(current);
        try {
          return await port.handle.open({ baudRate });
        } catch (err) {
          lastError = err;
        }
        if (services.clock.now() >= deadline) {
          const e = toErrorView(lastError, 'transport.open-failed');
          throw new TransportError(
            e.code === 'transport.port-busy' ? 'transport.port-busy' : 'transport.open-failed',
            `The monitor could not open the port: ${e.message}`,
            {
              hints: [...e.hints, 'Plug the board back in, then start the monitor again.'],
              cause: lastError,
            },
          );
        }
        patch({ status: 'waiting' });
        await sleep(services.clock, LOOK_INTERVAL_MS, signal);
      }
    };

    const resetIntoApp = async (link: SerialLink, signal: AbortSignal): Promise<void> => {
      await link.setSignals({ dataTerminalReady: false, requestToSend: false });
      await link.setSignals({ dataTerminalReady: false, requestToSend: true });
      await sleep(services.clock, RESET_PULSE_MS, signal);
      await link.setSignals({ dataTerminalReady: false, requestToSend: false });
    };

    const loop = async (reset: boolean, signal: AbortSignal): Promise<void> => {
      const baudRate = get().settings.monitorBaudRate;
      let first = true;
      while (!signal.aborted) {
        const link = await open(baudRate, signal);
        try {
          patch({ status: 'open', baudRate, error: undefined });
          if (first) log.info(`Monitor open on ${link.info.label} at ${baudRate} baud.`);
          else log.info('The board is back; the monitor continues.');
          if (first && reset) await resetIntoApp(link, signal);
          first = false;
          for (;;) {
            try {
              onBytes(await link.input.read(4096, { timeoutMs: 1000, signal, what: 'monitor' }));
            } catch (err) {
              if (err instanceof WebflashError && err.code === 'timeout') continue;
              throw err;
            }
          }
        } catch (err) {
          if (signal.aborted) return;
          if (err instanceof WebflashError && err.code === 'transport.device-lost') {
            log.info('The board went away (it may be restarting); looking for it again…');
            patch({ status: 'waiting' });
            continue;
          }
          throw err;
        } finally {
          await link.close().catch(() => undefined);
        }
      }
    };

    const stop = async (): Promise<void> => {
      const current = run;
      if (!current) return;
      current.controller.abort();
      await current.done;
    };

    return {
      monitor: closedMonitor,
      startMonitor: async (options = {}) => {
        await stop();
        const state = get();
        if (state.transport !== 'serial' || !state.port) {
          patch({
            status: 'error',
            error: toErrorView(
              new TransportError('transport.closed', 'Choose a serial port first.'),
            ),
          });
          return;
        }
        if (state.job.running) {
          log.warn('The monitor cannot open the port while a flash is running.');
          return;
        }
        const esp = (state.device?.protocol ?? state.job.protocol) === 'esp-serial';
        const reset = options.reset ?? esp;
        const controller = new AbortController();
        decoder = new MonitorText();
        set({ monitor: { ...closedMonitor, status: 'opening' } });
        const done = loop(reset, controller.signal).then(
          () => undefined,
          (err: unknown) => {
            if (controller.signal.aborted) return;
            const error = toErrorView(err, 'transport.io');
            log.error(`Monitor stopped: ${error.message}`);
            patch({ status: 'error', error });
          },
        );
        const mine = { controller, done };
        run = mine;
        await done;
        if (run === mine) {
          run = undefined;
          if (get().monitor.status !== 'error') patch({ status: 'closed' });
        }
      },
      stopMonitor: async () => {
        if (!run) return;
        await stop();
        patch({ status: 'closed' });
        log.info('Monitor closed.');
      },
      clearMonitor: () => {
        decoder.clear();
        patch({ text: '' });
      },
      setMonitorPaused: (paused) => {
        patch(paused ? { paused } : { paused, text: decoder.text });
      },
    };
  };
}

/** True while the monitor holds the port. */
export function monitorActive(state: Pick<AppState, 'monitor'>): boolean {
  const s = state.monitor.status;
  return s === 'opening' || s === 'open' || s === 'waiting';
}
