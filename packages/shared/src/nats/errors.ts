/**
 * JetStream API errors the services tell apart. The client surfaces them with `api_error.err_code` (and an
 * HTTP-like `code`); older paths only with a message, so both are checked.
 */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const NO_MESSAGE_FOUND = 10037;
const WRONG_LAST_SEQUENCE = 10071;

type ApiErrorLike = { code?: unknown; api_error?: { err_code?: number; code?: number }; message?: unknown };
const errCode = (err: unknown): number | undefined => (err as ApiErrorLike)?.api_error?.err_code;
const message = (err: unknown): string => String((err as ApiErrorLike)?.message ?? '');

/** A stream, consumer or message that does not exist (any JetStream 404). */
export function isNotFound(err: unknown): boolean {
  const e = err as ApiErrorLike;
  const code = errCode(err);
  return (
    code === STREAM_NOT_FOUND || code === CONSUMER_NOT_FOUND || code === NO_MESSAGE_FOUND ||
    e?.api_error?.code === 404 || e?.code === '404' || /not found/i.test(message(err))
  );
}

/** A publish whose expected last (subject) sequence did not hold: someone else published first. */
export function isWrongLastSequence(err: unknown): boolean {
  return errCode(err) === WRONG_LAST_SEQUENCE || /wrong last sequence/i.test(message(err));
}
