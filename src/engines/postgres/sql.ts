/** SQL text helpers for PostgreSQL. Pure. */

/** Quotes an identifier: always, so case, spaces, quotes and reserved words survive. */
export function qi(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a qualified name schema.name. */
export function qname(schema: string, name: string): string {
  return `${qi(schema)}.${qi(name)}`;
}

/** Quotes a string literal (standard_conforming_strings = on, the default since 9.1). */
export function ql(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
