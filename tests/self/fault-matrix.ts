// The fault matrix: each lab fault, the checks it must make fail, and the hop the diagnosis must blame.
// Later issues only add rows.
import type { CheckId, Hop } from '../../helpers/diagnosis/catalog.ts';
import type { FaultName } from '../../lab/faults.ts';

export interface MatrixRow {
  fault: FaultName | null;
  failing: CheckId[];
  faultyHop: Hop | null;
}

export const FAULT_MATRIX: MatrixRow[] = [
  { fault: null, failing: [], faultyHop: null },
  { fault: 'api-down', failing: ['api.health'], faultyHop: 'api' },
];
