/**
 * Text from the API (names, labels) printed for people: anything outside printable ASCII is written as a
 * `\uXXXX` escape (`\n` as `\n`), so a name cannot forge or break lines of our output or move the cursor.
 */
export function safeText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
