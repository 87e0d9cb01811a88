/**
 * IAM's decision for one request against one principal's identity-based policies, as the policy evaluation logic
 * describes it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an
 * explicit Deny wins, then any Allow, otherwise the request is implicitly denied. Statements are already resolved
 * (no intrinsics left; see local/stack/template/intrinsics.ts).
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface AuthorizationRequest {
  /** `service:Action`, e.g. `dynamodb:UpdateItem`. */
  action: string;
  /** The resource ARN the action is on (`*` for actions without resource-level permissions). */
  resource: string;
  /** Condition keys the local stack knows for this request (e.g. `aws:SecureTransport`). */
  context?: Record<string, string>;
}

export type Decision =
  | { decision: "allow"; statement: PolicyStatement }
  | { decision: "explicitDeny"; statement: PolicyStatement }
  | { decision: "implicitDeny" };

export function evaluate(statements: readonly PolicyStatement[], request: AuthorizationRequest): Decision {
  let allowedBy: PolicyStatement | undefined;
  for (const statement of statements) {
    if (!actionMatches(statement, request.action) || !resourceMatches(statement, request.resource)) continue;
    const condition = conditionHolds(statement.Condition, request.context ?? {});
    if (statement.Effect === "Deny") {
      // A Deny whose condition cannot be evaluated here applies: the conservative reading.
      if (condition !== false) return { decision: "explicitDeny", statement };
    } else if (condition === true) {
      // An Allow whose condition cannot be evaluated here does not apply: the conservative reading.
      allowedBy ??= statement;
    }
  }
  return allowedBy ? { decision: "allow", statement: allowedBy } : { decision: "implicitDeny" };
}

const list = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

function actionMatches(statement: PolicyStatement, action: string): boolean {
  // Action names are case-insensitive (IAM JSON policy elements: Action).
  const matches = (patterns: string[]) => patterns.some((p) => glob(p.toLowerCase(), action.toLowerCase(), true));
  const actions = list(statement.Action);
  if (actions) return matches(actions);
  const notActions = list(statement.NotAction);
  return notActions !== undefined && !matches(notActions);
}

function resourceMatches(statement: PolicyStatement, resource: string): boolean {
  const resources = list(statement.Resource);
  if (resources) return resources.some((p) => arnMatches(p, resource));
  const notResources = list(statement.NotResource);
  return notResources !== undefined && !notResources.some((p) => arnMatches(p, resource));
}

/**
 * ARN matching as IAM reads a Resource element: case-sensitive; `*` and `?` match within each of the first five
 * colon-separated segments (partition, service, region, account) and freely in the resource part, which may itself
 * hold `/` and `:` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  if (!p || !a) return glob(pattern, arn, true);
  for (let i = 0; i < 5; i++) if (!glob(p[i]!, a[i]!, false)) return false;
  return glob(p[5]!, a[5]!, true);
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(":")];
}

/** `*` = any run of characters (colons too if `acrossColons`), `?` = one character; everything else literal. */
function glob(pattern: string, value: string, acrossColons: boolean): boolean {
  const any = acrossColons ? "[\\s\\S]*" : "[^:]*";
  const one = acrossColons ? "[\\s\\S]" : "[^:]";
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? any : c === "?" ? one : c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`).test(value);
}

/**
 * true: every condition holds; false: one does not; undefined: one cannot be evaluated locally (an operator not
 * implemented here, or a key the local stack does not know). Implemented: StringEquals, StringNotEquals,
 * StringLike, StringNotLike (case-sensitive) and Bool, each with a list of values meaning "any of".
 */
function conditionHolds(condition: PolicyStatement["Condition"], context: Record<string, string>): boolean | undefined {
  if (condition === undefined) return true;
  let result: boolean | undefined = true;
  for (const [operator, keys] of Object.entries(condition)) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = context[key];
      if (actual === undefined) {
        result = result === false ? false : undefined;
        continue;
      }
      const values = (Array.isArray(expected) ? expected : [expected]).map(String);
      let holds: boolean | undefined;
      switch (operator) {
        case "StringEquals":
          holds = values.includes(actual);
          break;
        case "StringNotEquals":
          holds = !values.includes(actual);
          break;
        case "StringLike":
          holds = values.some((v) => glob(v, actual, true));
          break;
        case "StringNotLike":
          holds = !values.some((v) => glob(v, actual, true));
          break;
        case "Bool":
          holds = values.map((v) => v.toLowerCase()).includes(actual.toLowerCase());
          break;
        default:
          holds = undefined;
      }
      if (holds === false) return false;
      if (holds === undefined) result = undefined;
    }
  }
  return result;
}
