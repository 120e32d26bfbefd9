export const schema: Record<string, unknown>;
export const schemaText: string;
