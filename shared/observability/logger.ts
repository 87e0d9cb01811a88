import { Logger } from "@aws-lambda-powertools/logger";
import { redactingReplacer } from "./redact.js";

/**
 * The service's structured JSON logger. Event logging stays off (events carry openids and ciphertext); nothing in
 * this code base passes key material or decrypted payloads to it, and the redacting replacer (redact.ts) scrubs PEM
 * blocks, key-named fields and decrypted `resource`s should one slip through.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wxcoupon",
  jsonReplacerFn: redactingReplacer,
});
