// Stub: to be implemented.
export async function startCommand(args: string[]): Promise<number> {
  console.error("qedge start: not implemented yet");
  return 2;
}
