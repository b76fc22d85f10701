import { type LabelledText, parseRedactionDataset } from '../redaction-dataset';
import heldOut from './held-out.gen.json' with { type: 'json' };
import tuning from './tuning.gen.json' with { type: 'json' };

/**
 * The generated evaluation set (see generate-eval-set.ts): 1,600 sentences the detectors were
 * tuned on and 800 from another seed and templates of their own, which they were not.
 */
export const EVAL_SETS: { tuning: LabelledText[]; heldOut: LabelledText[] } = {
  tuning: parseRedactionDataset(tuning),
  heldOut: parseRedactionDataset(heldOut),
};
