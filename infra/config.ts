/**
 * Deployment configuration, read from CDK context and validated before any construct is built.
 *
 * Precedence (lowest → highest): built-in defaults → `environments.<env>` in cdk.json → individual `-c key=value` flags.
 * Account and region are always explicit so `cdk synth` never calls AWS (no lookups, no credentials).
 *
 * | key                 | type / default                              | meaning                                                    |
 * | ------------------- | ------------------------------------------- | ---------------------------------------------------------- |
 * | `env`               | string, `dev`                               | environment name; `prod` retains data and protects stacks  |
 * | `account`, `region` | 12 digits, region name (required)           | where the stacks go                                        |
 * | `mchid`             | digits (required)                           | WeChat Pay merchant id, named in a created secret's text   |
 * | `secretArn`         | complete secret ARN (optional)              | import the merchant secret; omitted → the stack creates it |
 * | `secretKmsKeyArn`   | KMS key ARN (optional, import only)         | CMK of an imported secret, for kms:Decrypt                 |
 * | `sendRatePerSecond` | integer 1..500, 500                         | the merchant's send ceiling, campaigns and POST /coupons   |
 * | `auth`              | `iam` \| `jwt`, `iam`                       | authorization of the caller routes                         |
 * | `allowedCallers`    | IAM role/user ARNs in `account` (iam only)  | given CallerPolicy: the send and read routes               |
 * | `adminCallers`      | IAM role/user ARNs in `account` (iam only)  | given AdminPolicy: the admin and read routes               |
 * | `jwtIssuer`         | https URL (jwt only, required)              | OIDC issuer                                                |
 * | `jwtAudience`       | list of strings (jwt only, required)        | accepted `aud` values                                      |
 * | `domainName`        | host name (optional, with certificateArn)   | custom domain for the HTTP API                             |
 * | `certificateArn`    | ACM ARN in `region`                         | certificate for `domainName`                               |
 * | `wechatpayMode`     | `public_key` \| `platform_certificate`      | how WeChat's responses are verified; the cert-refresh      |
 * |                     | default `public_key`                        | schedule exists only in `platform_certificate` mode        |
 * | `alarmTopicArn`     | SNS topic ARN (optional)                    | where alarms notify                                        |
 * | `eventForwardUrls`  | https URLs, none                            | consumers the event forwarder POSTs signed events to       |
 *
 * Lists may be given as JSON arrays (cdk.json) or comma-separated strings (`-c allowedCallers=arn1,arn2`).
 */

export type WechatpayMode = "public_key" | "platform_certificate";

export type SecretSource = { kind: "import"; arn: string; kmsKeyArn?: string } | { kind: "create" };

export type AuthConfig =
  | { kind: "iam"; allowedCallers: string[]; adminCallers: string[] }
  | { kind: "jwt"; issuer: string; audience: string[] };

export interface DomainConfig {
  name: string;
  certificateArn: string;
}

export interface WxConfig {
  envName: string;
  isProd: boolean;
  account: string;
  region: string;
  mchid: string;
  secret: SecretSource;
  sendRatePerSecond: number;
  auth: AuthConfig;
  domain?: DomainConfig;
  wechatpayMode: WechatpayMode;
  alarmTopicArn?: string;
  /** Where the event forwarder POSTs each bus event, signed (docs/events.md#signed-http-forwarding). */
  eventForwardUrls: string[];
}

/** Every context key this app reads (anything else under `environments.<env>` is a typo and rejected). */
export const CONFIG_KEYS = [
  "env",
  "account",
  "region",
  "mchid",
  "secretArn",
  "secretKmsKeyArn",
  "sendRatePerSecond",
  "auth",
  "allowedCallers",
  "adminCallers",
  "jwtIssuer",
  "jwtAudience",
  "domainName",
  "certificateArn",
  "wechatpayMode",
  "alarmTopicArn",
  "eventForwardUrls",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** WeChat Pay's send-coupon limit per merchant (docs/wechatpay-cash-coupons.md#rate-limits). */
export const WECHAT_SEND_LIMIT_PER_SECOND = 500;
/** WeChat's limit itself: the governor lives just below the limit it finds (docs/aws-notes.md#holding-wechats-send-rate). */
export const DEFAULT_SEND_RATE_PER_SECOND = WECHAT_SEND_LIMIT_PER_SECOND;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid wxcoupon configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Reads one context key; `app.node.tryGetContext` fits. */
export type ContextReader = (key: string) => unknown;

export function readConfig(getContext: ContextReader): WxConfig {
  const problems: string[] = [];
  const envName = optionalString(getContext("env"), "env", problems) ?? "dev";
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(envName)) {
    problems.push(`env: "${envName}" must be lowercase letters, digits or '-', starting with a letter, ≤ 16 chars`);
  }

  const environments = getContext("environments");
  let preset: Record<string, unknown> = {};
  if (environments !== undefined) {
    if (!isRecord(environments)) problems.push("environments: must be an object keyed by environment name");
    else if (environments[envName] !== undefined) {
      const entry = environments[envName];
      if (!isRecord(entry)) problems.push(`environments.${envName}: must be an object`);
      else {
        preset = entry;
        for (const key of Object.keys(entry)) {
          if (!(CONFIG_KEYS as readonly string[]).includes(key) || key === "env") {
            problems.push(`environments.${envName}.${key}: unknown key (known: ${CONFIG_KEYS.join(", ")})`);
          }
        }
      }
    }
  }
  // A -c flag beats the environment preset.
  const get = (key: ConfigKey): unknown => getContext(key) ?? preset[key];

  const account = optionalString(get("account"), "account", problems);
  if (account === undefined) problems.push("account: required (12-digit AWS account id); synth never looks it up");
  else if (!/^\d{12}$/.test(account)) problems.push(`account: "${account}" is not a 12-digit AWS account id`);

  const region = optionalString(get("region"), "region", problems);
  if (region === undefined) problems.push("region: required (e.g. ap-east-1); synth never looks it up");
  else if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) problems.push(`region: "${region}" is not an AWS region name`);

  const mchid = optionalString(get("mchid"), "mchid", problems);
  if (mchid === undefined) problems.push("mchid: required (the WeChat Pay merchant id, digits)");
  else if (!/^\d{1,32}$/.test(mchid)) problems.push(`mchid: "${mchid}" must be digits`);

  const secret = readSecret(get, account, region, problems);

  const rate = optionalInteger(get("sendRatePerSecond"), "sendRatePerSecond", problems) ?? DEFAULT_SEND_RATE_PER_SECOND;
  if (rate < 1 || rate > WECHAT_SEND_LIMIT_PER_SECOND) {
    problems.push(`sendRatePerSecond: ${rate} must be between 1 and ${WECHAT_SEND_LIMIT_PER_SECOND} (WeChat's limit)`);
  }

  const auth = readAuth(get, account, problems);

  const domainName = optionalString(get("domainName"), "domainName", problems);
  const certificateArn = optionalString(get("certificateArn"), "certificateArn", problems);
  let domain: DomainConfig | undefined;
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    problems.push("domainName and certificateArn: give both or neither");
  } else if (domainName !== undefined && certificateArn !== undefined) {
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domainName)) {
      problems.push(`domainName: "${domainName}" is not a lowercase host name`);
    }
    const match = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]+$/.exec(certificateArn);
    if (!match) problems.push(`certificateArn: "${certificateArn}" is not an ACM certificate ARN`);
    else if (region !== undefined && match[1] !== region) {
      problems.push(`certificateArn: a regional HTTP API needs a certificate in ${region}, not ${match[1]}`);
    }
    domain = { name: domainName, certificateArn };
  }

  const mode = optionalString(get("wechatpayMode"), "wechatpayMode", problems) ?? "public_key";
  if (mode !== "public_key" && mode !== "platform_certificate") {
    problems.push(`wechatpayMode: "${mode}" must be public_key or platform_certificate`);
  }

  const alarmTopicArn = optionalString(get("alarmTopicArn"), "alarmTopicArn", problems);
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(alarmTopicArn)) {
    problems.push(`alarmTopicArn: "${alarmTopicArn}" is not an SNS topic ARN`);
  }

  const eventForwardUrls = optionalList(get("eventForwardUrls"), "eventForwardUrls", problems) ?? [];
  for (const url of eventForwardUrls) {
    // https only; plain http on loopback is the local stack's consumer (as the simulator allows for notify URLs).
    // Credentials in the URL: fetch refuses such a URL with the URL in its error message, which the forwarder logs.
    const userinfo = /^(https?:\/\/)[^/@\s]*@/.exec(url);
    if (userinfo) {
      const shown = `${userinfo[1]}${url.slice(userinfo[0].length)}`;
      problems.push(`eventForwardUrls: "${shown}" must not carry credentials (user:password@)`);
    } else if (!/^https:\/\/[^/\s]+/.test(url) && !/^http:\/\/127\.0\.0\.1[:/]/.test(url)) {
      problems.push(`eventForwardUrls: "${url}" must be an https URL`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    envName,
    isProd: envName === "prod",
    account: account!,
    region: region!,
    mchid: mchid!,
    secret,
    sendRatePerSecond: rate,
    auth,
    ...(domain ? { domain } : {}),
    wechatpayMode: mode as WechatpayMode,
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    eventForwardUrls,
  };
}

function readSecret(
  get: (key: ConfigKey) => unknown,
  account: string | undefined,
  region: string | undefined,
  problems: string[],
): SecretSource {
  const arn = optionalString(get("secretArn"), "secretArn", problems);
  const kmsKeyArn = optionalString(get("secretKmsKeyArn"), "secretKmsKeyArn", problems);
  if (arn === undefined) {
    if (kmsKeyArn !== undefined) problems.push("secretKmsKeyArn: only applies with secretArn (an imported secret)");
    return { kind: "create" };
  }
  // The complete ARN (with the 6-character suffix Secrets Manager appends) lets IAM grants name the exact secret.
  const match = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/.exec(arn);
  if (!match) {
    problems.push(
      `secretArn: "${arn}" must be a complete Secrets Manager ARN, ending in the 6-character suffix (e.g. ...:secret:wxcoupon/merchant-AbCdEf)`,
    );
  } else {
    if (region !== undefined && match[1] !== region)
      problems.push(`secretArn: secret is in ${match[1]}, stacks in ${region}`);
    if (account !== undefined && match[2] !== account) {
      problems.push(`secretArn: secret is in account ${match[2]}, stacks in ${account}`);
    }
  }
  if (kmsKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/.test(kmsKeyArn)) {
    problems.push(`secretKmsKeyArn: "${kmsKeyArn}" is not a KMS key ARN`);
  }
  return { kind: "import", arn, ...(kmsKeyArn ? { kmsKeyArn } : {}) };
}

function readAuth(get: (key: ConfigKey) => unknown, account: string | undefined, problems: string[]): AuthConfig {
  const kind = optionalString(get("auth"), "auth", problems) ?? "iam";
  const callers = optionalList(get("allowedCallers"), "allowedCallers", problems) ?? [];
  const admins = optionalList(get("adminCallers"), "adminCallers", problems) ?? [];
  const issuer = optionalString(get("jwtIssuer"), "jwtIssuer", problems);
  const audience = optionalList(get("jwtAudience"), "jwtAudience", problems);
  if (kind === "iam") {
    if (issuer !== undefined || audience !== undefined)
      problems.push("jwtIssuer/jwtAudience: only apply with auth=jwt");
    for (const [key, arns] of [
      ["allowedCallers", callers],
      ["adminCallers", admins],
    ] as const) {
      for (const arn of arns) {
        const match = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/[\w+=,.@/-]+$/.exec(arn);
        if (!match) problems.push(`${key}: "${arn}" is not an IAM role or user ARN`);
        else if (account !== undefined && match[1] !== account) {
          // HTTP APIs have no resource policy, so IAM auth can only be granted to identities in the API's account.
          problems.push(
            `${key}: "${arn}" is in account ${match[1]}; HTTP APIs have no resource policy, so cross-account callers must assume a role in ${account}`,
          );
        }
      }
    }
    return { kind: "iam", allowedCallers: callers, adminCallers: admins };
  }
  if (kind === "jwt") {
    if (callers.length > 0 || admins.length > 0)
      problems.push("allowedCallers/adminCallers: only apply with auth=iam (JWT callers are chosen by the issuer)");
    if (issuer === undefined) problems.push("jwtIssuer: required with auth=jwt");
    else if (!/^https:\/\/[^\s]+$/.test(issuer)) problems.push(`jwtIssuer: "${issuer}" must be an https URL`);
    if (audience === undefined || audience.length === 0)
      problems.push("jwtAudience: required with auth=jwt (one or more)");
    return { kind: "jwt", issuer: issuer ?? "", audience: audience ?? [] };
  }
  problems.push(`auth: "${kind}" must be iam or jwt`);
  return { kind: "iam", allowedCallers: [], adminCallers: [] };
}

function optionalString(value: unknown, key: string, problems: string[]): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number") return String(value);
  if (typeof value !== "string") {
    problems.push(`${key}: must be a string`);
    return undefined;
  }
  return value.trim();
}

function optionalInteger(value: unknown, key: string, problems: string[]): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "string" ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    problems.push(`${key}: "${String(value)}" must be an integer`);
    return undefined;
  }
  return n;
}

function optionalList(value: unknown, key: string, problems: string[]): string[] | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith("[")) {
      try {
        return optionalList(JSON.parse(text), key, problems);
      } catch {
        problems.push(`${key}: not a valid JSON array`);
        return undefined;
      }
    }
    return text
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.map((v) => v.trim());
  problems.push(`${key}: must be a list of strings (JSON array or comma-separated)`);
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
