// PLACEHOLDER: replaced by the real handler
export const handler = async () => {
  throw new Error("not implemented");
};
