//! STUB: owned by the disk helper.
