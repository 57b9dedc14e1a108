/*
 * delegateToReal(): the light web objects (LightResponse, WebRequest) answer the common questions
 * themselves and hand every other property of the real class to a real instance, made once by `real()`.
 */

/**
 * Defines on `light` every getter and method of `realPrototype` that `light` does not define itself, each
 * asking `this.real()`; then puts `realPrototype` in `light`'s prototype chain (for `instanceof`).
 * @internal
 */
export function delegateToReal(light: object, realPrototype: object): void {
  for (const name of Object.getOwnPropertyNames(realPrototype)) {
    if (name === 'constructor' || Object.hasOwn(light, name)) continue
    const descriptor = Object.getOwnPropertyDescriptor(realPrototype, name)!
    if (descriptor.get !== undefined) {
      Object.defineProperty(light, name, { get(this: { real(): object }) { return Reflect.get(this.real(), name) }, configurable: true })
    } else if (typeof descriptor.value === 'function') {
      Object.defineProperty(light, name, {
        value(this: { real(): object }, ...args: unknown[]) {
          const real = this.real()
          return (Reflect.get(real, name) as (...args: unknown[]) => unknown).apply(real, args)
        },
        writable: true,
        configurable: true,
      })
    }
  }
  Object.setPrototypeOf(light, realPrototype)
}
