import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { EVENT_SOURCE, type ServiceEvent } from "../../domain/events/service-events.js";
import type { EventBus } from "../../domain/ports.js";

/** PutEvents takes at most 10 entries per call (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). */
const MAX_ENTRIES = 10;

export interface EventBridgeEventBusOptions {
  client: EventBridgeClient;
  /** env `EVENT_BUS_NAME`. */
  eventBusName: string;
  /** Attempts for entries PutEvents reports failed (throttling, internal errors), default 4. */
  maxAttempts?: number;
  baseDelayMs?: number;
}

/** Entries that still failed after the last attempt: the caller (the stream consumer) fails, so they are retried. */
export class PublishError extends Error {
  readonly code = "EVENTS_NOT_PUBLISHED";
  constructor(readonly failures: { detailType: string; errorCode: string }[]) {
    super(`${failures.length} event(s) not published: ${[...new Set(failures.map((f) => f.errorCode))].join(", ")}`);
    this.name = "PublishError";
  }
}

/**
 * `EventBus` on an EventBridge bus. PutEvents answers 200 with per-entry failures (`FailedEntryCount`), so only the
 * failed entries are sent again, with back-off; entries left failing make `publish` throw.
 */
export class EventBridgeEventBus implements EventBus {
  readonly #client: EventBridgeClient;
  readonly #bus: string;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;

  constructor(options: EventBridgeEventBusOptions) {
    this.#client = options.client;
    this.#bus = options.eventBusName;
    this.#maxAttempts = options.maxAttempts ?? 4;
    this.#baseDelayMs = options.baseDelayMs ?? 100;
  }

  async publish(events: readonly ServiceEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      await this.#putAll(events.slice(i, i + MAX_ENTRIES).map((e) => this.#entry(e)));
    }
  }

  #entry(event: ServiceEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.#bus,
      Source: EVENT_SOURCE,
      DetailType: event.detailType,
      Time: new Date(event.time),
      Resources: event.resources,
      Detail: JSON.stringify(event.detail),
    };
  }

  async #putAll(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    let failures: { detailType: string; errorCode: string }[] = [];
    for (let attempt = 1; attempt <= this.#maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(this.#baseDelayMs * 2 ** (attempt - 2));
      const answer = await this.#client.send(new PutEventsCommand({ Entries: pending }));
      if (!answer.FailedEntryCount) return;
      const results = answer.Entries ?? [];
      failures = [];
      pending = pending.filter((entry, i) => {
        const code = results[i]?.ErrorCode;
        if (code === undefined) return false;
        failures.push({ detailType: entry.DetailType ?? "", errorCode: code });
        return true;
      });
    }
    if (pending.length > 0) throw new PublishError(failures);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
