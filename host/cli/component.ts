// Stub: to be implemented.
export async function componentCommand(args: string[]): Promise<number> {
  console.error("qedge component: not implemented yet");
  return 2;
}
