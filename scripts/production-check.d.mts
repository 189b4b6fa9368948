/** Types for production-check.mjs. */
export declare const DEMO_MODULE: RegExp;
export declare function simulatorCodeIn(
  outputs: readonly {
    type: string;
    fileName: string;
    code?: string;
    source?: unknown;
    moduleIds?: readonly string[];
    modules?: Record<string, unknown>;
  }[],
): string[];
