import type { Family } from '@knp/shared';

/**
 * The only place text from the API (pod and policy names) may enter an nft script: as a quoted comment.
 * Everything outside a small safe alphabet becomes '_', so no quote, newline, ';', '}' or '#' survives,
 * and the result fits nft's comment limit (128 bytes) with room to spare.
 */
export function nftComment(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9 ._/:=[\]-]/g, '_').slice(0, COMMENT_MAX);
  return `comment "${safe}"`;
}
const COMMENT_MAX = 100;

export const addrType = (family: Family): string => (family === 4 ? 'ipv4_addr' : 'ipv6_addr');
export const addrKeyword = (family: Family): string => (family === 4 ? 'ip' : 'ip6');
