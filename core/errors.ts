/**
 * Error types thrown by denn. Every message names the op or plugin that failed, the shapes, dtypes
 * or devices involved, and what was expected.
 *
 * @module
 */

/** Base class of every error denn throws on purpose. */
export class DennError extends Error {
  /** Creates an error with the given message; `options.cause` keeps the error it wraps. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DennError";
  }
}

/** A shape, axis or size argument does not fit the op. */
export class ShapeError extends DennError {
  /** Creates a shape error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ShapeError";
  }
}

/** A dtype the op does not accept. */
export class DTypeError extends DennError {
  /** Creates a dtype error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DTypeError";
  }
}

/** Tensors on devices that cannot be combined, or a device that does not exist. */
export class DeviceError extends DennError {
  /** Creates a device error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DeviceError";
  }
}

/** No backend could run an op; the message lists each backend and why it declined. */
export class DispatchError extends DennError {
  /** Creates a dispatch error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DispatchError";
  }
}

/** A plugin manifest is malformed, duplicated or incompatible. */
export class PluginError extends DennError {
  /** Creates a plugin error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PluginError";
  }
}

/** An op or attribute value is invalid. */
export class ValueError extends DennError {
  /** Creates a value error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ValueError";
  }
}

/** Autograd misuse: backward through a freed graph, an in-place change to a saved tensor, ... */
export class AutogradError extends DennError {
  /** Creates an autograd error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AutogradError";
  }
}

/** An op was given a tensor whose memory was already released by `dispose()` or a `scope()`. */
export class DisposedError extends DennError {
  /** Creates a disposed-tensor error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DisposedError";
  }
}

/**
 * An index tensor holds a value outside the range of the dimension it indexes (class targets of
 * `crossEntropy`/`nllLoss`, `gather`, `scatterAdd`, `oneHot`, `embedding`). GPU backends record the
 * violation on the device and raise this at the next readback.
 */
export class IndexError extends DennError {
  /** Creates an index error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IndexError";
  }
}

/** A device or host allocation failed; the message names the op, the shape and the bytes asked for. */
export class OutOfMemoryError extends DennError {
  /** Creates an out-of-memory error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OutOfMemoryError";
  }
}
