/** A table item as the DocumentClient reads and writes it (attribute names in snake_case). */
export type Item = Record<string, unknown>;

// Readers for items this service wrote: a missing attribute reads as the type's empty value.
export const str = (item: Item, name: string): string => String(item[name] ?? "");
export const num = (item: Item, name: string): number => Number(item[name] ?? 0);

/** The string attributes `names` maps to (record field → attribute), leaving out those the item does not hold. */
export function optionalStrings<F extends string>(item: Item, names: Record<F, string>): Partial<Record<F, string>> {
  const fields: Partial<Record<F, string>> = {};
  for (const [field, attribute] of Object.entries(names) as [F, string][]) {
    const value = item[attribute];
    if (typeof value === "string") fields[field] = value;
  }
  return fields;
}
