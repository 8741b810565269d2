// Wraps methods of a node-llama-cpp context's private native context (`LlamaContext._ctx`, whose own
// methods are read-only), to observe what reaches llama.cpp: for tests and probes only.
import type { LlamaContext } from "node-llama-cpp";

type NativeMethod = (...args: unknown[]) => unknown;

/** Replaces the named native methods by `wrappers[name](original, ...args)`; other methods pass through. */
export function wrapNativeContext(
  context: LlamaContext,
  wrappers: Record<string, (original: NativeMethod, ...args: unknown[]) => unknown>,
): void {
  const native: Record<string | symbol, unknown> = Reflect.get(context, "_ctx");
  Reflect.set(
    context,
    "_ctx",
    new Proxy(native, {
      get(target, key) {
        const value = target[key];
        if (typeof value !== "function") return value;
        const original = value.bind(target) as NativeMethod;
        const wrapper = typeof key === "string" ? wrappers[key] : undefined;
        return wrapper ? (...args: unknown[]) => wrapper(original, ...args) : original;
      },
    }),
  );
}
