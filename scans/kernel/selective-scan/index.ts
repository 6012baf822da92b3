// The shared selective-scan kernel (Mamba S6): the op, its reference oracle, plan gather/scatter helpers.
import './register.ts';

export { selectiveScan, useReferenceScanOn } from './selective-scan.ts';
export { selectiveScanReference, gatherPlan, gatherPlanPerChannel, scatterPlan, softplus20 } from './reference.ts';
export { validateScan, outputShape } from './validate.ts';
export type { SelectiveScanInputs, SelectiveScanOptions, ScanGeometry, OutputMode } from './types.ts';
