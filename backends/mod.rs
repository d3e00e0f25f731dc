//! The in-tree storage backends, one module each, each behind the cargo feature of its name.
//!
//! This is the only place that knows which backends exist in the source tree. The core and the
//! CLI find compiled-in backends through the registry; the [`IN_TREE`] table lets the CLI name
//! the cargo feature when a user selects a backend this binary was built without.

#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(any(feature = "mysql", feature = "postgres"))]
mod address;

#[cfg(any(feature = "mysql", feature = "postgres"))]
mod server_errors;

#[cfg(feature = "mysql")]
pub mod mysql;

#[cfg(feature = "postgres")]
pub mod postgres;

/// A backend that lives in this repository, compiled in or not.
#[derive(Debug, Clone, Copy)]
pub struct InTree {
    /// Registry name.
    pub name: &'static str,
    /// Configuration section under `storage`.
    pub section: &'static str,
    /// Flag prefix.
    pub flag_prefix: &'static str,
    /// The cargo feature that compiles it in.
    pub feature: &'static str,
}

/// Every backend in this repository, whether this build has it or not.
pub const IN_TREE: &[InTree] = &[
    InTree {
        name: "mysql",
        section: "mysql",
        flag_prefix: "mysql",
        feature: "mysql",
    },
    InTree {
        name: "postgres",
        section: "postgres",
        flag_prefix: "postgres",
        feature: "postgres",
    },
    InTree {
        name: "sqlite",
        section: "local",
        flag_prefix: "sqlite",
        feature: "sqlite",
    },
];

/// Keeps every compiled-in backend's registration in the final binary.
///
/// `inventory` registers through static constructors; a linker may drop an object file that
/// nothing refers to, and its registration with it. Naming each constructor here gives the
/// linker a reference it must keep.
pub fn keep_linked() {
    #[cfg(feature = "sqlite")]
    std::hint::black_box(sqlite::DESCRIPTOR_CONNECT);
    #[cfg(feature = "mysql")]
    std::hint::black_box(mysql::DESCRIPTOR_CONNECT);
    #[cfg(feature = "postgres")]
    std::hint::black_box(postgres::DESCRIPTOR_CONNECT);
}
