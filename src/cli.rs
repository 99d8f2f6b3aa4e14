//! Command line. STUB.
