export const schema: Record<string, unknown>;
export const schemaText: string;
export const AJV_OPTIONS: Record<string, unknown>;
export function validatorsText(): Promise<string>;
