// The shape the validator reads a schema in: plain JSON Schema keywords plus our x- annotations.
export type SchemaNode = { [keyword: string]: unknown };
