/** Counting wrappers for bindings, shared by the test harness and the benchmark: every call is counted, then passed on unchanged. */

export interface KvCounts {
  get: number;
  put: number;
  delete: number;
  list: number;
}

export function countingKv(real: KVNamespace, counts: KvCounts): KVNamespace {
  return {
    get: (...args: unknown[]) => {
      counts.get++;
      return (real.get as (...a: unknown[]) => unknown)(...args);
    },
    getWithMetadata: (...args: unknown[]) => {
      counts.get++;
      return (real.getWithMetadata as (...a: unknown[]) => unknown)(...args);
    },
    put: (...args: unknown[]) => {
      counts.put++;
      return (real.put as (...a: unknown[]) => unknown)(...args);
    },
    delete: (...args: unknown[]) => {
      counts.delete++;
      return (real.delete as (...a: unknown[]) => unknown)(...args);
    },
    list: (...args: unknown[]) => {
      counts.list++;
      return (real.list as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as KVNamespace;
}

/**
 * Wraps a Durable Object namespace so that every RPC method call on a stub it
 * hands out goes through `around(method, args, call)`, where `call()` makes the
 * real call. Everything else on the namespace and its stubs is passed through.
 */
export function interceptNamespace<T>(real: T, around: (method: string, args: unknown[], call: () => unknown) => unknown): T {
  const wrapStub = (stub: Record<string, unknown>) =>
    new Proxy(stub, {
      get(target, property) {
        if (typeof property !== "string" || property === "then") return Reflect.get(target, property);
        // Called as a method of the stub itself: an RPC method property has no
        // usable Function.prototype (`.apply` would itself be sent as an RPC).
        return (...args: unknown[]) => around(property, args, () => (target[property] as (...a: unknown[]) => unknown)(...args));
      },
    });
  return new Proxy(real as object, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property === "get" || property === "getByName") {
        return (...args: unknown[]) => wrapStub((value as (...a: unknown[]) => Record<string, unknown>).apply(target, args));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as T;
}

/**
 * Wraps a Durable Object namespace so that every RPC method call on a stub it
 * hands out is counted (by method name). Each such call is one billed Durable
 * Object request.
 */
export function countingNamespace<T extends DurableObjectNamespace>(real: T, calls: Record<string, number>): T {
  return interceptNamespace(real, (method, _args, call) => {
    calls[method] = (calls[method] ?? 0) + 1;
    return call();
  });
}
