/*
 * Errors across threads. A structured clone keeps an Error's message and stack but not its class beyond
 * the built-in ones, nor the fields our classes add (`code`, `reason`, `status`...): a ListenError thrown
 * in a worker would arrive as a plain Error. So a thread sends an error as a plain description (its class
 * name, message, stack, own fields and cause), and the receiving thread rebuilds it as an instance of the
 * same class when that class is one of ours (src/errors.ts) or a built-in one, with the same fields; an
 * error of a class only the sender knows arrives as an Error with the same name and fields.
 *
 * The rebuilt error is made without running its constructor (whose parameters differ from class to class):
 * `Reflect.construct(Error, [message], Class)` makes a real Error whose prototype is the class's. A cause
 * chain is followed to CAUSE_DEPTH_MAX errors deep.
 */
import * as errors from '../errors.ts'

/** An error as it crosses: plain data a structured clone keeps whole. */
export interface CrossingError {
  readonly crossing: 'error'
  readonly className: string
  readonly message: string
  readonly stack: string | undefined
  /** Own enumerable fields with a value a clone keeps (name, code, reason, status...). */
  readonly fields: Record<string, unknown>
  readonly cause?: unknown
}

const CAUSE_DEPTH_MAX = 8

/** The classes an error can be rebuilt as, by name: ours and the built-in ones. */
// Typed as a bare constructor: Reflect.construct makes the error, never calling the class's own constructor.
const classes = new Map<string, Function>([
  ...[Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].map((each) => [each.name, each] as const),
  ...Object.values(errors).filter((each): each is typeof errors.WirespeedError => typeof each === 'function' && each.prototype instanceof Error).map((each) => [each.name, each] as const),
])

/**
 * What to post for `error`: an Error as its description, anything else (a thrown string) as it is.
 * @example
 * parentPort.postMessage({ type: 'failed', error: errorToCrossing(error) })
 */
export function errorToCrossing(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean', 'bigint', 'undefined'].includes(typeof value)) fields[key] = value
  }
  const crossing: CrossingError = { crossing: 'error', className: error.constructor?.name ?? 'Error', message: error.message, stack: error.stack, fields }
  return error.cause === undefined || depth >= CAUSE_DEPTH_MAX ? crossing : { ...crossing, cause: errorToCrossing(error.cause, depth + 1) }
}

/**
 * The error a description stands for, as an instance of its class where this thread knows the class.
 * @example
 * worker.on('message', (message) => reject(errorFromCrossing(message.error)))
 */
export function errorFromCrossing(crossed: unknown): unknown {
  if (typeof crossed !== 'object' || crossed === null || (crossed as CrossingError).crossing !== 'error') return crossed
  const description = crossed as CrossingError
  const known = classes.get(description.className)
  const error = Reflect.construct(Error, [description.message], (known ?? Error) as new () => Error) as Error
  if (known === undefined) error.name = description.className
  Object.assign(error, description.fields)
  if (description.stack !== undefined) error.stack = description.stack
  if ('cause' in description) Object.defineProperty(error, 'cause', { value: errorFromCrossing(description.cause), writable: true, configurable: true })
  return error
}
