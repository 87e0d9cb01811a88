import type { DeadLetterSink } from "../../domain/ports.js";

/** In-memory `DeadLetterSink`. */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: { body: string; reason: string }[] = [];

  async put(body: string, reason: string): Promise<void> {
    this.letters.push({ body, reason });
  }
}
