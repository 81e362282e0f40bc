// Stub: to be implemented.
export async function deviceCommand(args: string[]): Promise<number> {
  console.error("qedge device: not implemented yet");
  return 2;
}
