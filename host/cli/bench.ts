// Stub: to be implemented.
export async function benchCommand(args: string[]): Promise<number> {
  console.error("qedge bench: not implemented yet");
  return 2;
}
