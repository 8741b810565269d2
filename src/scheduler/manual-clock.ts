// A clock that only moves when told to: deterministic time for scheduler tests and the fairness
// simulation. Timers fire in due-time order (then creation order) during `advance`.
import type { SchedulerClock, TimerHandle } from "./scheduler-clock.ts";

interface PendingTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

export class ManualClock implements SchedulerClock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, PendingTimer>();

  /** @param startMs The initial reading of `now()`. Default 0. */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, dueAt: this.#now + Math.max(0, delayMs), callback });
    return id as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** Number of timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.#now + Math.max(0, ms);
    for (;;) {
      let next: PendingTimer | undefined;
      for (const timer of this.#timers.values())
        if (timer.dueAt <= target && (next === undefined || timer.dueAt < next.dueAt)) next = timer;
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = next.dueAt;
      next.callback();
    }
    this.#now = target;
  }
}
