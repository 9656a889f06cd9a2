//! Zero-copy, validated views over frame bytes. Nothing here allocates or panics.

pub mod ethernet;
