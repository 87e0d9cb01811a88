import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";

/**
 * The SQSClient every SQS adapter takes; build it once per container. `useQueueUrlAsEndpoint: false` makes the client
 * send to the resolved endpoint (`AWS_ENDPOINT_URL_SQS` locally, the regional one in AWS) instead of the QueueUrl's
 * host: fauxqs hands out `http://sqs.<region>.localhost:<port>/…` URLs, and `*.localhost` does not resolve here.
 * Harmless in AWS, where both are the same host.
 */
export function createSqsClient(config: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ useQueueUrlAsEndpoint: false, ...config });
}
