/**
 * Error types thrown by denn. Every message names the op or plugin that failed, the shapes, dtypes
 * or devices involved, and what was expected.
 *
 * @module
 */

/** Base class of every error denn throws on purpose. */
export class DennError extends Error {
  /** Creates an error with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "DennError";
  }
}

/** A shape, axis or size argument does not fit the op. */
export class ShapeError extends DennError {
  /** Creates a shape error. */
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** A dtype the op does not accept. */
export class DTypeError extends DennError {
  /** Creates a dtype error. */
  constructor(message: string) {
    super(message);
    this.name = "DTypeError";
  }
}

/** Tensors on devices that cannot be combined, or a device that does not exist. */
export class DeviceError extends DennError {
  /** Creates a device error. */
  constructor(message: string) {
    super(message);
    this.name = "DeviceError";
  }
}

/** No backend could run an op; the message lists each backend and why it declined. */
export class DispatchError extends DennError {
  /** Creates a dispatch error. */
  constructor(message: string) {
    super(message);
    this.name = "DispatchError";
  }
}

/** A plugin manifest is malformed, duplicated or incompatible. */
export class PluginError extends DennError {
  /** Creates a plugin error. */
  constructor(message: string) {
    super(message);
    this.name = "PluginError";
  }
}

/** An op or attribute value is invalid. */
export class ValueError extends DennError {
  /** Creates a value error. */
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

/** Autograd misuse: backward through a freed graph, an in-place change to a saved tensor, ... */
export class AutogradError extends DennError {
  /** Creates an autograd error. */
  constructor(message: string) {
    super(message);
    this.name = "AutogradError";
  }
}

/** An op was given a tensor whose memory was already released by `dispose()` or a `scope()`. */
export class DisposedError extends DennError {
  /** Creates a disposed-tensor error. */
  constructor(message: string) {
    super(message);
    this.name = "DisposedError";
  }
}
