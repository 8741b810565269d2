import { MemoryQuotaStore } from "./memory-quota-store.ts";
import { runQuotaStoreContract } from "./quota-store-contract.ts";

runQuotaStoreContract("MemoryQuotaStore", () => {
  const store = new MemoryQuotaStore();
  return { stores: [store, store], close() {} };
});
