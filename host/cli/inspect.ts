// Stub: to be implemented.
export async function inspectCommand(args: string[]): Promise<number> {
  console.error("qedge inspect: not implemented yet");
  return 2;
}
