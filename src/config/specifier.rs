//! STUB: owned by the config helper.
