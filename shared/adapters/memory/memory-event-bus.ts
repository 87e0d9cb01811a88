import type { ServiceEvent } from "../../domain/events/service-events.js";
import type { EventBus } from "../../domain/ports.js";

/** In-memory `EventBus`: what was published, in order. */
export class MemoryEventBus implements EventBus {
  readonly events: ServiceEvent[] = [];

  async publish(events: readonly ServiceEvent[]): Promise<void> {
    this.events.push(...structuredClone(events));
  }
}
