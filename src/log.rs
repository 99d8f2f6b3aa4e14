//! Log lines on stderr, worded like upstream. STUB.
