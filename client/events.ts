/**
 * A small typed event emitter. Listeners cannot throw into the client: a throwing listener is
 * reported on `error` (or dropped when it was an `error` listener), and an `error` event with no
 * listener is dropped (the first one warned of, for a Consumer) instead of crashing the process as
 * Node's EventEmitter would.
 */
import { thrownText } from '../protocol/thrown-text.ts';

// An event map: event name → the listener's argument tuple.
export type EventMap = { [event: string]: unknown[] };

type Listener<Args extends unknown[]> = (...args: Args) => void;
type StoredListener = (...args: unknown[]) => void;

export class TypedEmitter<Events extends EventMap & { error: [Error] }> {
  private readonly listeners = new Map<keyof Events, StoredListener[]>();
  /**
   * Set by a class whose errors reach nobody else (the Consumer's: a Producer's also reject its
   * publishes): its first `error` with no listener becomes a process warning (stderr), so that a
   * consumer that cannot connect is not silent. Later ones are dropped.
   */
  protected warnUnheardErrors = false;
  private warnedUnheard = false;

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const list = this.listeners.get(event);
    // Copy on write: emit iterates the array it read, so adding during an emit is safe.
    if (list === undefined) this.listeners.set(event, [listener as unknown as StoredListener]);
    else this.listeners.set(event, [...list, listener as unknown as StoredListener]);
    return this;
  }

  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const wrapped = (...args: Events[E]): void => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const next = list.filter((l) => l !== (listener as unknown as StoredListener));
    if (next.length === 0) this.listeners.delete(event);
    else this.listeners.set(event, next);
    return this;
  }

  /** Whether anyone listens: lets hot paths skip building an event's arguments. */
  hasListeners(event: keyof Events): boolean {
    return this.listeners.has(event);
  }

  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const list = this.listeners.get(event);
    if (list === undefined) {
      if (event === 'error' && this.warnUnheardErrors && !this.warnedUnheard) {
        this.warnedUnheard = true;
        const name = this.constructor.name;
        process.emitWarning(`${name} error, and no 'error' listener (${name.toLowerCase()}.on('error', ...) to handle them; later ones are not shown): ${(args[0] as Error).message}`, 'NsqworkerWarning');
      }
      return;
    }
    for (const listener of list) {
      try {
        listener(...(args as unknown[]));
      } catch (thrown) {
        if (event !== 'error') {
          const error = thrown instanceof Error ? thrown : new Error(thrownText(thrown));
          this.emit('error', ...([error] as unknown as Events['error']));
        }
      }
    }
  }
}
