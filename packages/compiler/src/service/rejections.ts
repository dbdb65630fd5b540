import { MAX_RECORDED_REJECTIONS, STATUS_SCHEMA, canonicalJson, type Rejection, type RejectionsRecord } from '@knp/shared';

/**
 * The `compiler.rejections` record of the rejections at stream sequence `seq`: every one counted, the first
 * MAX_RECORDED_REJECTIONS kept. `text` is canonical: the record is written only when it changed.
 */
export function rejectionsRecord(epoch: string, seq: number, all: readonly Rejection[]): { text: string; record: RejectionsRecord } {
  return {
    text: canonicalJson(all),
    record: { schema: STATUS_SCHEMA, epoch, seq, count: all.length, rejections: all.slice(0, MAX_RECORDED_REJECTIONS) },
  };
}
