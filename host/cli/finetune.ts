// Stub: to be implemented.
export async function finetuneCommand(args: string[]): Promise<number> {
  console.error("qedge finetune: not implemented yet");
  return 2;
}
