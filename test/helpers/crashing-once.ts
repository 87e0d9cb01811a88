/** `target`, except that the first call of `method` dies as a killed process would. */
export function crashingOnce<T extends object>(target: T, method: keyof T): T {
  let crash = true;
  return new Proxy(target, {
    get(object, name) {
      if (name === method && crash) {
        return async () => {
          crash = false;
          throw new Error("process killed");
        };
      }
      const value = Reflect.get(object, name);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}
