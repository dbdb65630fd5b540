import type { RuleSet } from '@knp/shared';
import { renderNft } from './render-nft.js';

/** Kernel formats for `knp compile --format` and `knp replay --format`: exactly what the applier loads. */
export const renderers: Readonly<Record<string, (ruleSet: RuleSet, prefix: string) => string>> = {
  nft: (ruleSet, prefix) => renderNft(ruleSet, { prefix }),
};
