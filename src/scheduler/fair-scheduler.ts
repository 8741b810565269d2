// Admission control for one pool of slots (e.g. a model's sequences): decides which waiting request
// starts next so that tenants share generated and processed TOKENS fairly. Pure logic on an injected
// clock; it must not depend on HTTP, the engine or storage.
//
// Algorithm: hierarchical start-time fair queuing with virtual time (after Goyal, Vin & Cheng's SFQ and
// its hierarchical form, with the "minimum active virtual time" of Linux CFS as the system clock).
// - The tree is root → organisation → team → API key. Every node has a `tag`: tokens charged to its
//   subtree divided by its weight (organisation weight, team weight, 1 for keys), i.e. its normalised
//   service. Tokens are charged as they are used: prompt tokens at admission, generated tokens when
//   reported (`reportTokens`). Running requests also count their still-expected tokens (estimate minus
//   what was charged), so a tenant that just started many requests does not look cheap.
// - To admit, walk down from the root and at each level take the child with the smallest tag among
//   those with waiting work; ties go to the child admitted least recently. At the key, take its oldest
//   request of the best priority class. Smallest-tag-first equalises normalised service, so backlogged
//   siblings converge to shares proportional to their weights, at every level independently.
// - Work conservation without banking credit: each inner node keeps a virtual time, the smallest tag of
//   its active (waiting or running) children, never decreasing. A child that becomes active again has
//   its tag lifted to at least that virtual time. An idle tenant thus claims nothing while idle (its
//   share goes to the others), and on return competes from the front rather than with saved-up credit.
// Why SFQ rather than deficit round robin: costs are unknown at admission (they accrue while the request
// runs), and tags that simply accumulate charged tokens need no quantum and no knowledge of request size.
//
// Priority: `interactive` is served before `batch` across the whole tree (both charge the same tags, so
// batch use still counts against a tenant's share). Ageing: a batch request that has waited
// `batchAgeingMs` competes as interactive from then on, so within a bounded time it is in the top class,
// where fair queuing guarantees it progress: batch never starves.
//
// Admission is not preemptive: a newcomer can only take a slot when one frees up. `reservedSlots` holds
// the last few free slots for keys that have nothing running, which bounds a newcomer's wait behind a
// tenant that floods every slot with long requests, at the cost of leaving those slots idle when only
// running tenants want them (set 0, the default, for strict work conservation).
import { OstromError } from "../errors.ts";
import type { CancelSignal } from "../util/cancel-signal.ts";
import type { SchedulerClock, TimerHandle } from "./scheduler-clock.ts";
import { systemClock } from "./scheduler-clock.ts";
import { getTenantNodeKeys, type TenantPath } from "./tenant-path.ts";

export type PriorityClass = "interactive" | "batch";

export interface FairSchedulerOptions {
  /** Slots: requests that may run at once, e.g. a model's parallel sequences. At least 1. */
  capacity: number;
  /** Most requests one API key may have waiting; more are refused with `queue_full_tenant`. Default 32. */
  maxQueuedPerKey?: number;
  /** Most requests waiting in total; more are refused with `queue_full_global`. Default 1024. */
  maxQueued?: number;
  /** A batch request that has waited this long (ms) competes as interactive. Default 30000. */
  batchAgeingMs?: number;
  /** Free slots kept for keys with nothing running (capped at capacity − 1). Default 0. */
  reservedSlots?: number;
  /** Upper bound of the `retryAfterSeconds` suggested when refusing. Default 60. */
  maxRetryAfterSeconds?: number;
  /** Default: wall-clock time. */
  clock?: SchedulerClock;
}

export interface EnqueueOptions {
  path: TenantPath;
  priority: PriorityClass;
  /** Prompt tokens to process; charged to the tenant when the request is admitted. */
  promptTokens: number;
  /**
   * Tokens the request is expected to use in total (prompt + completion, e.g. prompt + `max_tokens`).
   * Counted against the tenant while it runs until reported tokens replace it; also sizes Retry-After.
   */
  estimatedTokens: number;
  /** Time on the scheduler's clock (ms) by which the request must have been admitted. Default: none. */
  deadline?: number;
  /** Aborting it while the request waits removes it from the queue at once. */
  signal?: CancelSignal;
}

export type TicketState = "queued" | "admitted" | "released" | "rejected";

/** A request's place in the scheduler. Pass it back to `release` when done, in every case. */
export interface Ticket {
  readonly id: number;
  readonly path: TenantPath;
  readonly priority: PriorityClass;
  /** When it was enqueued, on the scheduler's clock. */
  readonly enqueuedAt: number;
  /** Resolves when a slot is granted; rejects on cancellation, deadline or shutdown. */
  readonly admitted: Promise<void>;
  readonly state: TicketState;
}

export interface TenantQueueSnapshot {
  organizationId: string;
  teamId: string;
  apiKeyId: string;
  queuedInteractive: number;
  queuedBatch: number;
  running: number;
  /** Tokens charged to this key since the scheduler started (or since the key was last idle long enough to be forgotten). */
  chargedTokens: number;
}

export interface SchedulerSnapshot {
  capacity: number;
  running: number;
  queued: number;
  /** One entry per key with something waiting or running, ordered by organisation, team, key. */
  tenants: TenantQueueSnapshot[];
}

const urgentClass = 0;
const batchClass = 1;
type ClassIndex = typeof urgentClass | typeof batchClass;
const rateTimeConstantMs = 10_000;

class ShareNode {
  readonly key: string;
  readonly parent: ShareNode | undefined;
  readonly order: number;
  readonly children = new Map<string, ShareNode>();
  weight = 1;
  /** Normalised service: charged tokens / weight, plus lifts to the parent's virtual time. */
  tag = 0;
  /** For inner nodes: the smallest tag of active children, monotonic. */
  virtualTime = 0;
  /** Tokens expected but not yet charged for running requests in this subtree. */
  outstanding = 0;
  queued = 0;
  running = 0;
  lastAdmitted = 0;
  /** Leaf (key) nodes only. */
  readonly interactive: TicketRecord[] = [];
  readonly batch: TicketRecord[] = [];
  path: TenantPath | undefined;
  chargedTokens = 0;

  constructor(key: string, parent: ShareNode | undefined, order: number) {
    this.key = key;
    this.parent = parent;
    this.order = order;
  }

  get active(): boolean {
    return this.queued + this.running > 0;
  }
}

class TicketRecord implements Ticket {
  readonly id: number;
  readonly path: TenantPath;
  readonly priority: PriorityClass;
  readonly enqueuedAt: number;
  readonly admitted: Promise<void>;
  readonly promptTokens: number;
  readonly estimatedTokens: number;
  /** organisation, team, key. */
  readonly nodes: readonly [ShareNode, ShareNode, ShareNode];
  state: TicketState = "queued";
  outstanding = 0;
  timer: TimerHandle | undefined;
  detachSignal: (() => void) | undefined;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(
    id: number,
    options: EnqueueOptions,
    enqueuedAt: number,
    nodes: readonly [ShareNode, ShareNode, ShareNode],
  ) {
    this.id = id;
    this.path = options.path;
    this.priority = options.priority;
    this.enqueuedAt = enqueuedAt;
    this.promptTokens = Math.max(0, options.promptTokens);
    this.estimatedTokens = Math.max(this.promptTokens, options.estimatedTokens);
    this.nodes = nodes;
    this.admitted = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Callers that never await a ticket must not crash the process with an unhandled rejection.
    this.admitted.catch(() => {});
  }
}

/** Temporary adjustments used to look ahead (positions) without touching the real state. */
interface LookAhead {
  extraTag: Map<ShareNode, number>;
  lastAdmitted: Map<ShareNode, number>;
  taken: Map<ShareNode, { interactive: number; batch: number }>;
  sequence: number;
}

interface SelectionContext {
  now: number;
  idleKeysOnly: boolean;
  lookAhead: LookAhead | undefined;
}

export class FairScheduler {
  readonly #clock: SchedulerClock;
  readonly #maxQueuedPerKey: number;
  readonly #maxQueued: number;
  readonly #batchAgeingMs: number;
  #reservedSlots: number;
  readonly #maxRetryAfterSeconds: number;
  #capacity: number;
  readonly #root = new ShareNode("root", undefined, 0);
  readonly #tickets = new Set<TicketRecord>();
  #nextTicketId = 1;
  #nextNodeOrder = 1;
  #admissions = 0;
  #running = 0;
  #queued = 0;
  #queuedTokens = 0;
  #deactivations = 0;
  #closedWith: OstromError | undefined;
  #rateAccumulator = 0;
  #rateUpdatedAt: number;

  constructor(options: FairSchedulerOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#capacity = requirePositiveInteger("capacity", options.capacity);
    this.#maxQueuedPerKey = requirePositiveInteger("maxQueuedPerKey", options.maxQueuedPerKey ?? 32);
    this.#maxQueued = requirePositiveInteger("maxQueued", options.maxQueued ?? 1024);
    this.#batchAgeingMs = Math.max(0, options.batchAgeingMs ?? 30_000);
    this.#reservedSlots = Math.max(0, Math.floor(options.reservedSlots ?? 0));
    this.#maxRetryAfterSeconds = Math.max(1, options.maxRetryAfterSeconds ?? 60);
    this.#rateUpdatedAt = this.#clock.now();
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Requests admitted and not yet released. */
  get running(): number {
    return this.#running;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /** Changes the number of slots, e.g. after a model reload; running requests are never cut short. */
  setCapacity(capacity: number): void {
    this.#capacity = requirePositiveInteger("capacity", capacity);
    this.#dispatch();
  }

  /** Changes how many free slots are kept for keys with nothing running (see the header). */
  setReservedSlots(reservedSlots: number): void {
    const next = Math.max(0, Math.floor(reservedSlots));
    if (next === this.#reservedSlots) return;
    this.#reservedSlots = next;
    this.#dispatch();
  }

  /**
   * Queues a request. Throws at once (never queues) when the key's or the global queue is full
   * (`queue_full_tenant` / `queue_full_global`, with `retryAfterSeconds`), when `signal` is already
   * aborted (`request_cancelled`) or after `close` (`shutting_down`).
   */
  enqueue(options: EnqueueOptions): Ticket {
    if (this.#closedWith) throw this.#closedWith;
    if (options.signal?.aborted) throw createCancelledError();
    const nodes = this.#resolveNodes(options.path);
    const keyNode = nodes[2];
    if (this.#queued >= this.#maxQueued)
      throw new OstromError(
        "queue_full_global",
        `The server already has ${this.#queued} requests waiting, its limit; retry later.`,
        { retryAfterSeconds: this.#estimateRetryAfter(this.#queuedTokens, 1) },
      );
    if (keyNode.queued >= this.#maxQueuedPerKey) {
      const keyTokens = [...keyNode.interactive, ...keyNode.batch].reduce(
        (sum, t) => sum + t.estimatedTokens,
        0,
      );
      throw new OstromError(
        "queue_full_tenant",
        `This API key already has ${keyNode.queued} requests waiting, its limit; retry when one has started.`,
        { retryAfterSeconds: this.#estimateRetryAfter(keyTokens, this.getShare(options.path)) },
      );
    }
    const now = this.#clock.now();
    const ticket = new TicketRecord(this.#nextTicketId++, options, now, nodes);
    this.#tickets.add(ticket);
    this.#activate(nodes);
    for (const node of nodes) node.queued += 1;
    this.#queued += 1;
    this.#queuedTokens += ticket.estimatedTokens;
    (ticket.priority === "interactive" ? keyNode.interactive : keyNode.batch).push(ticket);

    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.#reject(ticket, createCancelledError());
      signal.addEventListener("abort", onAbort, { once: true });
      ticket.detachSignal = () => signal.removeEventListener("abort", onAbort);
    }
    this.#dispatch();
    if (ticket.state === "queued" && options.deadline !== undefined) {
      const rejectLate = () =>
        this.#reject(
          ticket,
          new OstromError(
            "queue_timeout",
            "The request waited until its deadline without getting a slot; the server is busy.",
            { retryAfterSeconds: this.#estimateRetryAfter(this.#queuedTokens, 1) },
          ),
        );
      if (options.deadline <= now) rejectLate();
      else ticket.timer = this.#clock.setTimer(rejectLate, options.deadline - now);
    }
    return ticket;
  }

  /** Charges `tokens` more tokens (e.g. generated ones) to an admitted ticket's tenant. */
  reportTokens(ticket: Ticket, tokens: number): void {
    const record = this.#own(ticket);
    if (record.state !== "admitted" || !(tokens > 0)) return;
    const consumed = Math.min(tokens, record.outstanding);
    record.outstanding -= consumed;
    for (const node of record.nodes) node.outstanding -= consumed;
    this.#charge(record, tokens);
  }

  /**
   * Frees the ticket's slot, or withdraws it from the queue (its promise then rejects with
   * `request_cancelled`). Safe to call more than once and in every state.
   */
  release(ticket: Ticket): void {
    const record = this.#own(ticket);
    if (record.state === "queued") {
      this.#reject(record, createCancelledError());
      return;
    }
    if (record.state !== "admitted") return;
    record.state = "released";
    this.#tickets.delete(record);
    for (const node of record.nodes) node.outstanding -= record.outstanding;
    record.outstanding = 0;
    this.#changeCounts(record.nodes, 0, -1);
    this.#running -= 1;
    this.#dispatch();
  }

  /** 1-based place in the order the scheduler would admit waiting requests now; undefined unless queued. */
  getPosition(ticket: Ticket): number | undefined {
    const record = this.#own(ticket);
    if (record.state !== "queued") return undefined;
    const lookAhead: LookAhead = {
      extraTag: new Map(),
      lastAdmitted: new Map(),
      taken: new Map(),
      sequence: this.#admissions,
    };
    const context: SelectionContext = { now: this.#clock.now(), idleKeysOnly: false, lookAhead };
    for (let position = 1; position <= this.#queued; position++) {
      const next = this.#select(context);
      if (next === undefined || next === record) return position;
      lookAhead.sequence += 1;
      for (const node of next.nodes) {
        lookAhead.extraTag.set(
          node,
          (lookAhead.extraTag.get(node) ?? 0) + next.estimatedTokens / node.weight,
        );
        lookAhead.lastAdmitted.set(node, lookAhead.sequence);
      }
      const key = next.nodes[2];
      const taken = lookAhead.taken.get(key) ?? { interactive: 0, batch: 0 };
      if (next.priority === "interactive") taken.interactive += 1;
      else taken.batch += 1;
      lookAhead.taken.set(key, taken);
    }
    return this.#queued;
  }

  /**
   * The fraction of all capacity the path's key is entitled to now, given which tenants are active:
   * its organisation's weight share × its team's share within it × 1 / active keys of the team.
   */
  getShare(path: TenantPath): number {
    const keys = getTenantNodeKeys(path);
    const weights = [path.organizationWeight, path.teamWeight, 1];
    let share = 1;
    let parent: ShareNode | undefined = this.#root;
    for (const [level, key] of [keys.organization, keys.team, keys.apiKey].entries()) {
      const own: ShareNode | undefined = parent?.children.get(key);
      let total = own?.active ? 0 : (weights[level] ?? 1);
      for (const child of parent?.children.values() ?? []) if (child.active) total += child.weight;
      share *= (own?.active ? own.weight : (weights[level] ?? 1)) / total;
      parent = own;
    }
    return share;
  }

  /** Queue depth and use per key, for `GET /v1/queue` and metrics. */
  snapshot(): SchedulerSnapshot {
    const tenants: TenantQueueSnapshot[] = [];
    for (const organization of this.#root.children.values())
      for (const team of organization.children.values())
        for (const key of team.children.values()) {
          if (!key.active || key.path === undefined) continue;
          tenants.push({
            organizationId: key.path.organizationId,
            teamId: key.path.teamId,
            apiKeyId: key.path.apiKeyId,
            queuedInteractive: key.interactive.length,
            queuedBatch: key.batch.length,
            running: key.running,
            chargedTokens: key.chargedTokens,
          });
        }
    tenants.sort(
      (a, b) =>
        compareStrings(a.organizationId, b.organizationId) ||
        compareStrings(a.teamId, b.teamId) ||
        compareStrings(a.apiKeyId, b.apiKeyId),
    );
    return { capacity: this.#capacity, running: this.#running, queued: this.#queued, tenants };
  }

  /** Rejects every waiting request with `error` (default `shutting_down`) and refuses new ones. */
  close(error?: OstromError): void {
    this.#closedWith ??= error ?? new OstromError("shutting_down", "The server is shutting down.");
    for (const ticket of [...this.#tickets])
      if (ticket.state === "queued") this.#reject(ticket, this.#closedWith);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #own(ticket: Ticket): TicketRecord {
    if (!(ticket instanceof TicketRecord) || ticket.nodes[0].parent !== this.#root)
      throw new TypeError("The ticket does not belong to this scheduler.");
    return ticket;
  }

  #resolveNodes(path: TenantPath): [ShareNode, ShareNode, ShareNode] {
    const keys = getTenantNodeKeys(path);
    const organization = this.#child(this.#root, keys.organization, path.organizationWeight);
    const team = this.#child(organization, keys.team, path.teamWeight);
    const key = this.#child(team, keys.apiKey, 1);
    key.path = path;
    return [organization, team, key];
  }

  #child(parent: ShareNode, key: string, weight: number): ShareNode {
    let node = parent.children.get(key);
    if (node === undefined) {
      node = new ShareNode(key, parent, this.#nextNodeOrder++);
      node.tag = parent.virtualTime;
      parent.children.set(key, node);
    }
    // The latest weight wins, so configuration changes apply to the next request.
    node.weight = weight;
    return node;
  }

  /** Lifts nodes that are about to become active to their parent's virtual time, top-down. */
  #activate(nodes: readonly ShareNode[]): void {
    for (const node of nodes) {
      if (node.active || node.parent === undefined) continue;
      refreshVirtualTime(node.parent);
      node.tag = Math.max(node.tag, node.parent.virtualTime);
    }
  }

  #changeCounts(nodes: readonly ShareNode[], queuedDelta: number, runningDelta: number): void {
    for (let level = nodes.length - 1; level >= 0; level--) {
      const node = nodes[level]!;
      const goesIdle = node.queued + queuedDelta + node.running + runningDelta === 0;
      // Move the parent's clock while this node still counts as active, so it cannot bank credit.
      if (goesIdle && node.parent) refreshVirtualTime(node.parent);
      node.queued += queuedDelta;
      node.running += runningDelta;
    }
    // Idle nodes are forgotten in a sweep every 256 deactivations, not as each goes idle: a lone
    // tenant goes idle after every request, and building its three nodes anew each time was most of
    // the scheduler's garbage that outlived a young-generation collection (docs/benchmarks.md, "Ninth
    // round"). A kept idle node that owes nothing is lifted to its parent's virtual time when it
    // returns (`#activate`), exactly where a fresh one would start.
    if (nodes.some((node) => !node.active)) {
      this.#deactivations += 1;
      if (this.#deactivations % 256 === 0) pruneIdleNodes(this.#root);
    }
  }

  #charge(record: TicketRecord, tokens: number): void {
    for (const node of record.nodes) node.tag += tokens / node.weight;
    record.nodes[2].chargedTokens += tokens;
    const now = this.#clock.now();
    this.#rateAccumulator =
      this.#rateAccumulator * Math.exp(-(now - this.#rateUpdatedAt) / rateTimeConstantMs) + tokens;
    this.#rateUpdatedAt = now;
  }

  /** Seconds to serve `tokens` at `share` of the recently observed token rate, within [1, max]. */
  #estimateRetryAfter(tokens: number, share: number): number {
    const now = this.#clock.now();
    const tokensPerMs =
      (this.#rateAccumulator * Math.exp(-(now - this.#rateUpdatedAt) / rateTimeConstantMs)) /
      rateTimeConstantMs;
    if (!(tokensPerMs > 0) || !(share > 0)) return 1;
    const seconds = Math.ceil(tokens / (tokensPerMs * share) / 1000);
    return Math.min(this.#maxRetryAfterSeconds, Math.max(1, seconds));
  }

  #dispatch(): void {
    const now = this.#clock.now();
    const reserved = Math.min(this.#reservedSlots, this.#capacity - 1);
    while (this.#running < this.#capacity && this.#queued > 0) {
      const idleKeysOnly = this.#capacity - this.#running <= reserved;
      const next = this.#select({ now, idleKeysOnly, lookAhead: undefined });
      if (next === undefined) return;
      this.#admit(next);
    }
  }

  #admit(ticket: TicketRecord): void {
    const key = ticket.nodes[2];
    removeFrom(ticket.priority === "interactive" ? key.interactive : key.batch, ticket);
    this.#leaveQueue(ticket);
    this.#changeCounts(ticket.nodes, -1, +1);
    this.#running += 1;
    this.#admissions += 1;
    ticket.state = "admitted";
    ticket.outstanding = ticket.estimatedTokens - ticket.promptTokens;
    for (const node of ticket.nodes) {
      node.lastAdmitted = this.#admissions;
      node.outstanding += ticket.outstanding;
    }
    this.#charge(ticket, ticket.promptTokens);
    ticket.resolve();
  }

  #reject(ticket: TicketRecord, error: unknown): void {
    if (ticket.state !== "queued") return;
    const key = ticket.nodes[2];
    removeFrom(ticket.priority === "interactive" ? key.interactive : key.batch, ticket);
    this.#leaveQueue(ticket);
    ticket.state = "rejected";
    this.#tickets.delete(ticket);
    this.#changeCounts(ticket.nodes, -1, 0);
    ticket.reject(error);
    this.#dispatch();
  }

  #leaveQueue(ticket: TicketRecord): void {
    this.#queued -= 1;
    this.#queuedTokens -= ticket.estimatedTokens;
    ticket.detachSignal?.();
    ticket.detachSignal = undefined;
    if (ticket.timer !== undefined) this.#clock.clearTimer(ticket.timer);
    ticket.timer = undefined;
  }

  /** The next ticket to admit: the urgent class first, then batch. */
  #select(context: SelectionContext): TicketRecord | undefined {
    return (
      this.#selectBelow(this.#root, urgentClass, context) ??
      this.#selectBelow(this.#root, batchClass, context)
    );
  }

  #selectBelow(node: ShareNode, classIndex: ClassIndex, context: SelectionContext): TicketRecord | undefined {
    if (node.path !== undefined) return this.#headOf(node, classIndex, context);
    let best: { child: ShareNode; ticket: TicketRecord; tag: number; lastAdmitted: number } | undefined;
    for (const child of node.children.values()) {
      if (child.queued === 0) continue;
      const ticket = this.#selectBelow(child, classIndex, context);
      if (ticket === undefined) continue;
      const lookAhead = context.lookAhead;
      const tag = child.tag + child.outstanding / child.weight + (lookAhead?.extraTag.get(child) ?? 0);
      const lastAdmitted = lookAhead?.lastAdmitted.get(child) ?? child.lastAdmitted;
      if (
        best === undefined ||
        tag < best.tag ||
        (tag === best.tag &&
          (lastAdmitted < best.lastAdmitted ||
            (lastAdmitted === best.lastAdmitted && child.order < best.child.order)))
      )
        best = { child, ticket, tag, lastAdmitted };
    }
    return best?.ticket;
  }

  /** The key's oldest waiting request in `classIndex` (urgent = interactive or aged batch). */
  #headOf(key: ShareNode, classIndex: ClassIndex, context: SelectionContext): TicketRecord | undefined {
    if (context.idleKeysOnly && key.running > 0) return undefined;
    const taken = context.lookAhead?.taken.get(key);
    const interactive = key.interactive[taken?.interactive ?? 0];
    const batch = key.batch[taken?.batch ?? 0];
    if (classIndex === batchClass) return batch;
    const aged =
      batch !== undefined && context.now - batch.enqueuedAt >= this.#batchAgeingMs ? batch : undefined;
    if (interactive === undefined) return aged;
    if (aged === undefined) return interactive;
    return aged.id < interactive.id ? aged : interactive;
  }
}

function refreshVirtualTime(parent: ShareNode): void {
  let smallest = Number.POSITIVE_INFINITY;
  for (const child of parent.children.values())
    if (child.active && child.tag < smallest) smallest = child.tag;
  if (smallest !== Number.POSITIVE_INFINITY) parent.virtualTime = Math.max(parent.virtualTime, smallest);
}

/** Forgets an idle node once it owes nothing: a fresh node would start at the same virtual time. */
function prune(node: ShareNode): void {
  const parent = node.parent;
  if (parent === undefined || node.active || node.children.size > 0) return;
  if (node.tag <= parent.virtualTime) parent.children.delete(node.key);
}

function pruneIdleNodes(node: ShareNode): void {
  for (const child of [...node.children.values()]) {
    pruneIdleNodes(child);
    prune(child);
  }
}

function removeFrom(list: TicketRecord[], ticket: TicketRecord): void {
  const index = list.indexOf(ticket);
  if (index >= 0) list.splice(index, 1);
}

function createCancelledError(): OstromError {
  return new OstromError("request_cancelled", "The request was cancelled while waiting for a slot.");
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer ≥ 1`);
  return value;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
