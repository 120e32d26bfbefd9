/** SQL text helpers for MySQL / MariaDB. Pure. */

/** Quotes an identifier with backticks. */
export function qi(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}
