// Private build entry (temporary): the module's exports plus the popcount kernels.
export * from "./index";
export * from "./fdb-popcount";
