//! The conformance suite every `totpstore` storage backend must pass.
//!
//! A backend provides a [`Harness`]: something that can make new, empty, isolated storage
//! [`Location`]s (a temporary file, a fresh database or schema) and connect stores to them.
//! The suite's cases (in [`cases`]) are plain async functions that each make their own
//! location, so they run in parallel and in any order. The cases create, overwrite and delete
//! data: point a harness only at storage made for testing.
//!
//! [`conformance_tests!`] turns the whole list into one `#[test]` per case, so a failure names
//! both the backend's test module and the case:
//!
//! ```ignore
//! mod my_backend {
//!     fn harness() -> Option<MyHarness> { Some(MyHarness::new()) }
//!     totpstore_conformance::conformance_tests!(harness());
//! }
//! ```
//!
//! When the harness expression gives `None` (a server that is not configured), every case
//! returns at once; the harness should print why, and should panic instead when `CI` is set.

pub mod cases;
mod support;

use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use totpstore::{StoreError, TotpStore};

pub use support::{open, record, unique_name};

/// Errors of a harness's own set-up work (creating a database, dropping a schema).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The most a store may take to report that it cannot be reached.
pub const UNREACHABLE_DEADLINE: Duration = Duration::from_secs(15);

/// Makes isolated storage locations for the cases.
#[async_trait]
pub trait Harness: Send + Sync {
    /// Creates a new, empty location that no other case uses.
    async fn location(&self) -> Result<Box<dyn Location>, BoxError>;

    /// Connects a store to somewhere that cannot be reached (a closed port, a missing folder),
    /// configured with a short connect timeout. The connection should fail, or the returned
    /// store's first call should; either way without a panic and within
    /// [`UNREACHABLE_DEADLINE`].
    async fn connect_unreachable(&self) -> Result<Box<dyn TotpStore>, StoreError>;
}

/// One isolated storage location.
#[async_trait]
pub trait Location: Send + Sync {
    /// Connects a new store to this location, without creating the schema; call it again for
    /// a second store on the same data.
    async fn connect(&self) -> Result<Box<dyn TotpStore>, StoreError>;

    /// Creates, outside the store, a table named `table` that looks nothing like ours, as
    /// another program would have.
    async fn create_foreign_table(&self, table: &str) -> Result<(), BoxError>;

    /// Removes the location and everything in it. Failures are ignored.
    async fn cleanup(&self);
}

/// A case: an async function given the harness.
pub type Case = for<'a> fn(
    &'a dyn Harness,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Runs one case to completion on a multi-threaded runtime of its own, so that callers need no
/// async test framework. Skips (returns) when `harness` is `None`.
pub fn run_case<H: Harness>(harness: Option<H>, case: Case) {
    let Some(harness) = harness else { return };
    runtime().block_on(case(&harness));
}

/// Runs every case in order on one harness; an alternative to [`conformance_tests!`] for a
/// caller that wants a single entry point.
pub fn run_all<H: Harness>(harness: Option<H>) {
    let Some(harness) = harness else { return };
    let runtime = runtime();
    for (name, case) in cases::ALL {
        eprintln!("conformance case {name}");
        runtime.block_on(case(&harness));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("cannot start a tokio runtime for the conformance suite")
}

/// Writes one `#[test]` per conformance case, each calling [`run_case`] with the given harness
/// expression (evaluated anew per case, of type `Option<impl Harness>`).
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::__for_each_case!($crate::__conformance_test; $harness);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ($harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::run_case($harness, |h| ::std::boxed::Box::pin($crate::cases::$case(h)));
            }
        )*
    };
}
