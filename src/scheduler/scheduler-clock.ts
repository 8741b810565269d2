// The clock the scheduler and quota ledger read time from. Injected so that tests and the fairness
// simulation run on virtual time (see manual-clock.ts); production uses `systemClock`.

/** An opaque timer handle returned by `SchedulerClock.setTimer`. */
export type TimerHandle = { readonly __timerHandle: never };

export interface SchedulerClock {
  /** Milliseconds since an arbitrary epoch; only differences matter, except for day-based quotas (Unix epoch). */
  now(): number;
  /** Calls `callback` once after `delayMs`; the timer must not keep the process alive. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Wall-clock time with unref'd Node timers. */
export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    timer.unref();
    return timer as unknown as TimerHandle;
  },
  clearTimer(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};
