// Typed errors: every failure a user can cause names what was wrong and where.

export class QedgeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The model file is malformed; `path` names the offending field, e.g. subgraphs[0].operators[3].inputs[1]. */
export class ModelFormatError extends QedgeError {
  constructor(public readonly path: string, public readonly detail: string) {
    super(`${path}: ${detail}`);
  }
}

/** The model is well formed but uses something qedge does not run (op, version, type, option). */
export class UnsupportedModelError extends QedgeError {
  constructor(public readonly where: string, public readonly detail: string) {
    super(`${where}: ${detail}`);
  }
}

/** A caller passed something unusable (wrong input size, unknown tensor index, bad option). */
export class InvalidArgumentError extends QedgeError {}

/** A requested kernel build cannot run on this CPU / engine. */
export class KernelBuildError extends QedgeError {}

/** The plan does not fit the memory the caller (or the board profile) allows. */
export class MemoryBudgetError extends QedgeError {
  constructor(public readonly neededBytes: number, public readonly budgetBytes: number, what: string) {
    super(`${what} needs ${neededBytes} bytes, over the budget of ${budgetBytes} bytes`);
  }
}
