// The report layer's one error type: callers (the CLI, the tests) match on `code`, never on the message.
export type ReportErrorCode =
  | 'KASM_REPORT_USAGE'
  | 'KASM_REPORT_BAD_BUDGET'
  | 'KASM_REPORT_NO_RESULTS'
  | 'KASM_REPORT_NO_DIAGNOSIS'
  | 'KASM_REPORT_BAD_INPUT'
  | 'KASM_REPORT_ANALYTICS_UNRECOGNISED'
  | 'KASM_REPORT_ALLURE_FAILED'
  | 'KASM_REPORT_BAD_HTML';

/** Codes that mean the inputs or the environment are unusable (exit 2); the others mean the report is unsafe or missing (exit 1). */
const USAGE_CODES: ReadonlySet<ReportErrorCode> = new Set(['KASM_REPORT_USAGE', 'KASM_REPORT_BAD_BUDGET', 'KASM_REPORT_NO_RESULTS', 'KASM_REPORT_NO_DIAGNOSIS', 'KASM_REPORT_BAD_INPUT']);

export class ReportError extends Error {
  constructor(
    readonly code: ReportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReportError';
  }

  get exitCode(): 1 | 2 {
    return USAGE_CODES.has(this.code) ? 2 : 1;
  }
}
