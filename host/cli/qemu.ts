// Stub: to be implemented.
export async function qemuCommand(args: string[]): Promise<number> {
  console.error("qedge qemu: not implemented yet");
  return 2;
}
