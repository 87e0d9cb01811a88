import type { SendMessage, SendQueue } from "../../domain/ports.js";
import { clampVisibility } from "../record-rules.js";

/** In-memory `SendQueue`: keeps what was enqueued and every delay asked for, for assertions in unit tests. */
export class MemorySendQueue implements SendQueue {
  readonly messages: SendMessage[] = [];
  readonly delays: Array<{ receiptHandle: string; seconds: number }> = [];
  readonly requeued: Array<{ message: SendMessage; delaySeconds: number }> = [];

  async enqueue(messages: SendMessage[]): Promise<void> {
    this.messages.push(...messages.map((m) => structuredClone(m)));
  }

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    this.delays.push({ receiptHandle, seconds: clampVisibility(seconds) });
  }

  async requeue(message: SendMessage, delaySeconds: number): Promise<void> {
    this.requeued.push({ message: structuredClone(message), delaySeconds });
    this.messages.push(structuredClone(message));
  }

  /** Removes and returns everything enqueued so far. */
  drain(): SendMessage[] {
    return this.messages.splice(0, this.messages.length);
  }
}
