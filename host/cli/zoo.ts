// Stub: to be implemented.
export async function zooCommand(args: string[]): Promise<number> {
  console.error("qedge zoo: not implemented yet");
  return 2;
}
