/**
 * Redrive settings shared by the CDK stacks, the local stack and the send worker (which must know when a message is
 * on its last receive before the DLQ).
 *
 * Send messages: above the recommended minimum of 5 because every retryable outcome (SYSTEM_ERROR, 429, timeouts)
 * is a receive: the worker backs off with ChangeMessageVisibility (2^n s, capped), and on the last receive hands a
 * message that is not to blame back as a fresh copy, so only what an operator must look at reaches the DLQ.
 */
export const SEND_MAX_RECEIVE_COUNT = 10;
export const EVENTS_MAX_RECEIVE_COUNT = 5;
