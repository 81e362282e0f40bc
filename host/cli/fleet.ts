// Stub: to be implemented.
export async function fleetCommand(args: string[]): Promise<number> {
  console.error("qedge fleet: not implemented yet");
  return 2;
}
