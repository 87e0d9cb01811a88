/** A table item as the DocumentClient reads and writes it (attribute names in snake_case). */
export type Item = Record<string, unknown>;

// Readers for items this service wrote: a missing attribute reads as the type's empty value.
export const str = (item: Item, name: string): string => String(item[name] ?? "");
export const num = (item: Item, name: string): number => Number(item[name] ?? 0);
export const optionalString = (item: Item, name: string): string | undefined =>
  typeof item[name] === "string" ? (item[name] as string) : undefined;
