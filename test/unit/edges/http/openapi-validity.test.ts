import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "#shared/edges/http/openapi.js";

/** Needs the dev dependency `@seriousme/openapi-schema-validator` (the OpenAPI 3.1 meta-schemas, via ajv). */
describe("OpenAPI document validity", () => {
  it("validates against the OpenAPI 3.1 schema", async () => {
    const validator = new Validator();
    // A JSON round trip: the validator gets a plain, unfrozen copy, as a client fetching /openapi.json would.
    const result = await validator.validate(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("would notice a broken document (the check is not vacuous)", async () => {
    const broken = JSON.parse(JSON.stringify(buildOpenApiDocument())) as Record<string, unknown>;
    delete broken["info"];
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });
});
