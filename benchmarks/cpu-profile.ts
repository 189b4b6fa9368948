/**
 * CPU time of a page's main thread and of one of its workers, from V8's sampling profiler over
 * the Chrome DevTools Protocol (1 ms samples): the busy time (every sample that is not
 * "(idle)") and where it went (self time per function and script).
 */
import type { CDPSession, Page } from '@playwright/test';

/** A V8 CPU profile as the DevTools Protocol returns it (the parts used here). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber?: number };
  }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time per profile node, µs. timeDeltas[i + 1] is the time from sample i to the next. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const self = new Map<number, number>();
  for (let i = 0; i + 1 < samples.length; i++) {
    const id = samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (deltas[i + 1] ?? 0));
  }
  return self;
}

/** V8's pseudo-frames that are no JavaScript of the page's. */
const IDLE = '(idle)';

/** Busy time of a profile, ms: the time of every sample that is not "(idle)". */
export function busyMs(profile: CpuProfile): number {
  let us = 0;
  const self = selfTimes(profile);
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== IDLE) us += self.get(n.id) ?? 0;
  }
  return us / 1000;
}

/** One line of a breakdown: what ran, and its self time. */
interface SelfTime {
  /** "functionName (script:line)", or V8's "(program)", "(garbage collector)". */
  what: string;
  ms: number;
}

/** The script's file name without the query string and the build's content hash. */
function scriptName(url: string): string {
  const file = url.split('?')[0]!.split('/').pop() ?? '';
  return file.replace(/-[\w-]{8}\.js$/, '.js');
}

/**
 * Busy time by function, largest first: self time summed per function and script (idle left
 * out). In a production build the names are the minifier's; the script says which chunk.
 */
export function selfTimeBreakdown(profile: CpuProfile, top = 12): SelfTime[] {
  const self = selfTimes(profile);
  const sums = new Map<string, number>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === IDLE) continue;
    const us = self.get(n.id) ?? 0;
    if (us === 0) continue;
    const name = functionName || '(anonymous)';
    const what = url ? `${name} (${scriptName(url)}:${(lineNumber ?? 0) + 1})` : name;
    sums.set(what, (sums.get(what) ?? 0) + us);
  }
  return [...sums]
    .map(([what, us]) => ({ what, ms: us / 1000 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}

/** Busy time by script (chunk), largest first. */
export function selfTimeByScript(profile: CpuProfile): SelfTime[] {
  const self = selfTimes(profile);
  const sums = new Map<string, number>();
  for (const n of profile.nodes) {
    const { functionName, url } = n.callFrame;
    if (functionName === IDLE) continue;
    const what = url ? scriptName(url) : functionName;
    sums.set(what, (sums.get(what) ?? 0) + (self.get(n.id) ?? 0));
  }
  return [...sums]
    .map(([what, us]) => ({ what, ms: us / 1000 }))
    .filter((s) => s.ms > 0)
    .sort((a, b) => b.ms - a.ms);
}

/**
 * V8's sampling profiler on the page's main thread and on one of its workers (found by a part
 * of its script's address), through a DevTools Protocol session on the page; the worker is
 * reached through the page session's auto-attached target (non-flat mode).
 */
export class Profilers {
  private worker: string | undefined;
  private next = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(
    private readonly cdp: CDPSession,
    workerUrlPart: string,
  ) {
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker' && e.targetInfo.url.includes(workerUrlPart)) {
        this.worker = e.sessionId;
      }
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const m = JSON.parse(e.message) as { id?: number; result?: unknown };
      if (m.id !== undefined) this.pending.get(m.id)?.(m.result);
    });
  }

  static async attach(page: Page, workerUrlPart: string): Promise<Profilers> {
    const cdp = await page.context().newCDPSession(page);
    const p = new Profilers(cdp, workerUrlPart);
    await cdp.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: false,
      flatten: false,
    });
    return p;
  }

  async start(): Promise<void> {
    if (!this.worker) throw new Error('The worker to profile did not start');
    for (const method of ['Profiler.enable', 'Profiler.start']) {
      if (method === 'Profiler.start') {
        await this.cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
        await this.inWorker('Profiler.setSamplingInterval', { interval: 1000 });
      }
      await this.cdp.send(method as 'Profiler.enable');
      await this.inWorker(method);
    }
  }

  async stop(): Promise<{ main: CpuProfile; worker: CpuProfile }> {
    const main = await this.cdp.send('Profiler.stop');
    const worker = (await this.inWorker('Profiler.stop')) as { profile: CpuProfile };
    return { main: main.profile, worker: worker.profile };
  }

  private inWorker(method: string, params: object = {}): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      void this.cdp.send('Target.sendMessageToTarget', {
        sessionId: this.worker!,
        message: JSON.stringify({ id, method, params }),
      });
    });
  }
}
