// Stub: to be implemented.
export async function simCommand(args: string[]): Promise<number> {
  console.error("qedge sim: not implemented yet");
  return 2;
}
