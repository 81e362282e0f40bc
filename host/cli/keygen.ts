// Stub: to be implemented.
export async function keygenCommand(args: string[]): Promise<number> {
  console.error("qedge keygen: not implemented yet");
  return 2;
}
