// Any AssemblyScript abort (none are expected with --noAssert) becomes a trap, so the kernel
// module imports nothing.
export function kernelAbort(message: usize, fileName: usize, line: u32, column: u32): void {
  unreachable();
}
