// Stub: to be implemented.
export async function brokerCommand(args: string[]): Promise<number> {
  console.error("qedge broker: not implemented yet");
  return 2;
}
