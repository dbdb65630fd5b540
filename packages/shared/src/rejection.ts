/** Bad input is data: each rejection names the object, the field and the reason. */
export type Rejection = { readonly object: string; readonly field: string; readonly reason: string };

export function formatRejection(r: Rejection): string {
  return `${r.object} ${r.field}: ${r.reason}`;
}
