//! File systems: mkfs command lines, content trees, Minimize. STUB (issue 3).
