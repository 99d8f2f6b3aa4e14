//! Executes a plan on the target. STUB.
