//! Helpers shared by the cases.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{TimeZone, Utc};
use totpstore::storage::{prepare_schema, SchemaPolicy};
use totpstore::{Algorithm, SealedSecret, TotpRecord, TotpStore};

use crate::Location;

/// Connects a store to `location` and initialises its schema, as the CLI does on first use.
pub async fn open(location: &dyn Location) -> Box<dyn TotpStore> {
    let store = location
        .connect()
        .await
        .expect("connecting to a fresh location");
    prepare_schema(store.as_ref(), SchemaPolicy::InitialiseEmpty)
        .await
        .expect("initialising the schema of a fresh location");
    store
}

/// A name no other case or run uses: `<prefix>_<pid>_<counter>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A record for `username` whose fields all differ from the defaults, with `secret` as its
/// sealed bytes (the store treats them as opaque).
pub fn record(username: &str, secret: Vec<u8>) -> TotpRecord {
    TotpRecord {
        username: username.to_owned(),
        issuer: "Conformance".to_owned(),
        algorithm: Algorithm::Sha256,
        digits: 8,
        period: 45,
        secret: SealedSecret(secret),
        created_at: Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 58).unwrap()
            + chrono::Duration::microseconds(123_456),
        last_used_at: None,
    }
}
