import { readdirSync, readFileSync } from "node:fs";
import { Ajv } from "ajv";

const DIR = new URL("../../docs/events/", import.meta.url);

/** The documented JSON Schemas (docs/events/*.schema.json), by detail-type. */
export function eventSchemaValidator() {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".schema.json"))) {
    const schema = JSON.parse(readFileSync(new URL(file, DIR), "utf8")) as Record<string, unknown>;
    validators.set(file.replace(/\.schema\.json$/, ""), ajv.compile(schema));
  }
  return {
    detailTypes: [...validators.keys()].sort(),
    /** The schema's complaints about `event` (a full EventBridge event), or [] when it conforms. */
    errors(event: { "detail-type": string }): string[] {
      const validate = validators.get(event["detail-type"]);
      if (!validate) return [`no schema for detail-type ${event["detail-type"]}`];
      return validate(event) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    },
  };
}
