// Stub: to be implemented.
export async function runCommand(args: string[]): Promise<number> {
  console.error("qedge run: not implemented yet");
  return 2;
}
