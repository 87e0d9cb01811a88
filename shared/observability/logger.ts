import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The service's structured JSON logger. Event logging stays off (events carry openids and ciphertext); nothing in
 * this code base passes key material or decrypted payloads to it.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "wxcoupon" });
