/** The handler shapes a function package can take; each is a file in handlers/. */
export const functionKinds = ['fetch', 'aws-lambda', 'azure-functions'] as const;
export type FunctionKind = (typeof functionKinds)[number];

export function isFunctionKind(value: string): value is FunctionKind {
  return (functionKinds as readonly string[]).includes(value);
}
