/** True when `built` exists and no path in `inputs` (files or folders) changed after it. */
export function builtIsFresh(built: string, inputs: readonly string[]): boolean;
