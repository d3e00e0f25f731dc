//! Helpers shared by the integration tests.

// The SQLite sandbox helpers need the sqlite driver; every test using them is gated on it.
#[cfg(feature = "sqlite")]
pub mod cli;
pub mod servers;
