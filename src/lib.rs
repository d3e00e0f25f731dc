//! `totpstore` manages the TOTP (RFC 6238) second-factor configurations of an authentication
//! server's users, stored encrypted in SQLite, MySQL/MariaDB or PostgreSQL.
//!
//! The crate is both the `totpstore` command and the framework behind it:
//!
//! - [`TotpStore`] is the trait a storage backend implements; it stores [`TotpRecord`]s whose
//!   secrets are already sealed, and never handles key material.
//! - [`registry`] collects every backend's [`BackendDescriptor`] through `inventory`; the CLI
//!   builds its flags and configuration sections from it, so a backend in another crate plugs
//!   in by being linked into the binary.
//! - [`storage`] opens a store for use: schema initialisation and version checks, the
//!   encryption-key check, and sealing of secrets ([`crypto`]).
//! - [`otp`], [`base32`] and [`qr`] generate secrets, codes, `otpauth://` URIs and QR codes.
//! - [`config`] merges configuration files, environment variables and flags.
//! - [`cli`] is the command tree; [`cli::main`] is the entry point a custom binary calls.
//!
//! The in-tree backends live in [`backends`], each behind the cargo feature of its name.
//! The conformance suite every backend must pass is the `totpstore-conformance` crate.

#![warn(missing_docs)]

#[path = "../backends/mod.rs"]
pub mod backends;

pub mod base32;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod error;
pub mod model;
pub mod otp;
pub mod qr;
pub mod registry;
pub mod storage;
pub mod store;

pub use error::Error;
pub use model::{Algorithm, SaveMode, SealedSecret, TotpRecord};
pub use registry::{BackendDescriptor, BackendOptions, ConnectFuture, OptionSpec};
pub use store::{Migration, SchemaVersion, StoreError, TotpStore};

/// Re-exported for backend crates implementing [`TotpStore`].
pub use async_trait::async_trait;
/// Re-exported so that a backend crate registers with the same `inventory` version.
pub use inventory;
