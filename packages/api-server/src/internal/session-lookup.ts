import type { ScenarioEvent } from '../store.js';

/** Reads the latest scenario event of an environment at or before `atNs` (latest overall when absent). */
export type EventReader = (environment: string, atNs: number | undefined) => Promise<ScenarioEvent | undefined>;

interface Slot {
  /** The read in flight; it began before some of the callers now waiting arrived. */
  current: Promise<ScenarioEvent | undefined> | undefined;
  /** The read that will begin when `current` settles, shared by everyone who arrived meanwhile. */
  next: Promise<ScenarioEvent | undefined> | undefined;
}

const ignore = (): void => undefined;

/**
 * Coalesces concurrent session lookups for the same environment and time into one store read, without ever
 * answering from a read that began before the caller arrived. A caller starts a read when none is in flight;
 * otherwise it waits for the next read, which all callers that arrived during the current one share. So at most one read per key is in flight and at most one is queued, however many requests arrive,
 * and every answer reflects the store (shared with other API processes) at some instant after the request
 * came in. Nothing is cached once a read settles.
 */
export function createSessionLookup(read: EventReader): EventReader {
  const slots = new Map<string, Slot>();

  const start = (key: string, slot: Slot, environment: string, atNs: number | undefined): Promise<ScenarioEvent | undefined> => {
    const p = read(environment, atNs);
    slot.current = p;
    const settle = (): void => {
      if (slot.current === p) slot.current = undefined;
      if (slot.current === undefined && slot.next === undefined && slots.get(key) === slot) slots.delete(key);
    };
    p.then(settle, settle);
    return p;
  };

  return (environment, atNs) => {
    const key = atNs === undefined ? `${environment}\u0000` : `${environment}\u0000${atNs}`;
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = { current: undefined, next: undefined };
      slots.set(key, slot);
    }
    // Queued reads begin after every caller that joins them arrived, so joining one is always allowed.
    if (slot.next !== undefined) return slot.next;
    const inFlight = slot.current;
    if (inFlight === undefined) return start(key, slot, environment, atNs);
    const s = slot;
    const next = inFlight
      .then(ignore, ignore)
      .then(() => {
        s.next = undefined;
        return start(key, s, environment, atNs);
      });
    s.next = next;
    return next;
  };
}
