//! The cases, each a plain async function given a [`Harness`]; each makes its own location.
//!
//! The list at the top of this file is the suite: adding a case means writing its function and
//! naming it there.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use totpstore::{SaveMode, StoreError, TotpStore};

use crate::support::{open, record};
use crate::{Case, Harness, UNREACHABLE_DEADLINE};

/// Calls `$callback!($args; case, case, ...)` with every case of the suite.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_case {
    ($callback:path; $($args:tt)*) => {
        $callback!($($args)*;
            fresh_location_is_uninitialised,
            load_of_unknown_user_is_none,
            save_then_load_returns_every_field,
            secrets_of_any_bytes_and_length_round_trip,
            last_used_at_round_trips_when_set,
            create_only_on_existing_user_fails_and_keeps_the_row,
            overwrite_replaces_the_row_and_leaves_one,
            delete_removes_present_users_and_reports_absent_ones,
            usernames_differing_in_case_are_distinct,
            usernames_differing_in_trailing_space_are_distinct,
            utf8_usernames_round_trip_at_full_length,
            quote_and_semicolon_names_are_stored_literally,
            paged_listing_returns_each_user_once_in_a_stable_order,
            concurrent_create_only_saves_have_exactly_one_winner,
            concurrent_overwrites_leave_exactly_one_row,
            metadata_round_trips_and_overwrites,
            second_store_on_the_same_location_sees_the_data,
            store_on_another_location_sees_nothing,
            reopening_an_initialised_location_is_idempotent,
            same_named_foreign_table_is_refused,
            closed_store_returns_errors_not_panics,
            unreachable_store_fails_within_the_deadline,
        );
    };
}

macro_rules! define_all {
    (; $($case:ident),* $(,)?) => {
        /// Every case with its name, in suite order.
        pub const ALL: &[(&str, Case)] = &[$((stringify!($case), |h| Box::pin($case(h)))),*];
    };
}
crate::__for_each_case!(define_all;);

async fn location(h: &dyn Harness) -> Box<dyn crate::Location> {
    h.location()
        .await
        .expect("the harness could not create a location")
}

/// A new location holds none of our tables.
pub async fn fresh_location_is_uninitialised(h: &dyn Harness) {
    let loc = location(h).await;
    let store = loc.connect().await.expect("connect");

    let version = store.schema_version().await.expect("schema_version");

    assert_eq!(
        version.current, None,
        "a fresh location must report no schema"
    );
    assert!(version.latest >= 1);
    store.close().await;
    loc.cleanup().await;
}

/// Loading a user that was never saved gives `None`.
pub async fn load_of_unknown_user_is_none(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;

    assert!(store.load("nobody").await.expect("load").is_none());

    store.close().await;
    loc.cleanup().await;
}

/// Every field comes back exactly as saved, the issuer at its full 100 characters.
pub async fn save_then_load_returns_every_field(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let mut rec = record("alice", vec![1, 2, 3, 4]);
    rec.issuer = "I".repeat(99) + "é";

    store.save(&rec, SaveMode::Create).await.expect("save");
    let loaded = store.load("alice").await.expect("load").expect("saved row");

    assert_eq!(loaded, rec);
    assert_eq!(loaded.created_at.timezone(), Utc);
    store.close().await;
    loc.cleanup().await;
}

/// Sealed secrets are opaque bytes: every byte value, and lengths up to 1 KiB, round-trip.
pub async fn secrets_of_any_bytes_and_length_round_trip(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let every_byte: Vec<u8> = (0..=255).collect();
    let long: Vec<u8> = (0..1024).map(|i| (i * 7 % 256) as u8).collect();
    let cases = [
        ("bytes", every_byte),
        ("long", long),
        ("nul", vec![0; 41]),
        ("one", vec![0xff]),
    ];

    for (name, secret) in &cases {
        store
            .save(&record(name, secret.clone()), SaveMode::Create)
            .await
            .expect("save");
    }

    for (name, secret) in &cases {
        let loaded = store.load(name).await.expect("load").expect("saved row");
        assert_eq!(&loaded.secret.0, secret, "secret of {name}");
    }
    store.close().await;
    loc.cleanup().await;
}

/// `last_used_at` is kept when set, with its microseconds, in UTC.
pub async fn last_used_at_round_trips_when_set(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let mut rec = record("bob", vec![9; 57]);
    rec.last_used_at = Some(
        Utc.with_ymd_and_hms(2038, 1, 19, 3, 14, 8).unwrap()
            + chrono::Duration::microseconds(999_999),
    );

    store.save(&rec, SaveMode::Create).await.expect("save");

    assert_eq!(store.load("bob").await.expect("load"), Some(rec));
    store.close().await;
    loc.cleanup().await;
}

/// A create-only save of an existing user fails with `AlreadyExists` and changes nothing.
pub async fn create_only_on_existing_user_fails_and_keeps_the_row(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let first = record("carol", vec![1; 57]);
    store
        .save(&first, SaveMode::Create)
        .await
        .expect("first save");

    let mut second = record("carol", vec![2; 57]);
    second.issuer = "Other".into();
    let err = store
        .save(&second, SaveMode::Create)
        .await
        .expect_err("second create-only save");

    assert!(
        matches!(err, StoreError::AlreadyExists(_)),
        "expected AlreadyExists, got {err:?}"
    );
    assert_eq!(store.load("carol").await.expect("load"), Some(first));
    store.close().await;
    loc.cleanup().await;
}

/// An overwrite replaces every field and leaves one row.
pub async fn overwrite_replaces_the_row_and_leaves_one(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    store
        .save(&record("dave", vec![1; 57]), SaveMode::Create)
        .await
        .expect("save");

    let mut replacement = record("dave", vec![2; 60]);
    replacement.issuer = "Replaced".into();
    replacement.digits = 6;
    replacement.period = 30;
    replacement.algorithm = totpstore::Algorithm::Sha512;
    replacement.created_at = Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap();
    store
        .save(&replacement, SaveMode::Overwrite)
        .await
        .expect("overwrite");

    assert_eq!(store.load("dave").await.expect("load"), Some(replacement));
    let all = store.list(None, 10).await.expect("list");
    assert_eq!(all.len(), 1, "overwrite must not add a row");
    store.close().await;
    loc.cleanup().await;
}

/// Deleting a present user removes it and says so; deleting an absent one says it was absent.
pub async fn delete_removes_present_users_and_reports_absent_ones(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    store
        .save(&record("erin", vec![1; 57]), SaveMode::Create)
        .await
        .expect("save");
    store
        .save(&record("frank", vec![1; 57]), SaveMode::Create)
        .await
        .expect("save");

    assert!(store.delete("erin").await.expect("delete present"));
    assert!(!store.delete("erin").await.expect("delete again"));
    assert!(!store.delete("nobody").await.expect("delete absent"));

    assert!(store.load("erin").await.expect("load").is_none());
    assert!(
        store.load("frank").await.expect("load").is_some(),
        "other rows stay"
    );
    store.close().await;
    loc.cleanup().await;
}

async fn assert_distinct(store: &dyn TotpStore, a: &str, b: &str) {
    store
        .save(&record(a, vec![0xa; 57]), SaveMode::Create)
        .await
        .expect("save first");
    store
        .save(&record(b, vec![0xb; 57]), SaveMode::Create)
        .await
        .unwrap_or_else(|e| panic!("{b:?} must be a different user from {a:?}: {e}"));

    let la = store.load(a).await.expect("load").expect("first row");
    let lb = store.load(b).await.expect("load").expect("second row");
    assert_eq!((la.username.as_str(), la.secret.0[0]), (a, 0xa));
    assert_eq!((lb.username.as_str(), lb.secret.0[0]), (b, 0xb));
}

/// `John` and `john` are two users.
pub async fn usernames_differing_in_case_are_distinct(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;

    assert_distinct(store.as_ref(), "john", "John").await;
    assert_distinct(store.as_ref(), "émile", "Émile").await;

    store.close().await;
    loc.cleanup().await;
}

/// `john` and `john ` (trailing space) are two users, and neither finds the other.
pub async fn usernames_differing_in_trailing_space_are_distinct(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;

    store
        .save(&record("john", vec![1; 57]), SaveMode::Create)
        .await
        .expect("save");
    assert!(
        store.load("john ").await.expect("load").is_none(),
        "'john ' must not find 'john'"
    );
    assert_distinct(store.as_ref(), "mary", "mary ").await;

    store.close().await;
    loc.cleanup().await;
}

/// Names in accented Latin, CJK and emoji round-trip at the full 100 characters.
pub async fn utf8_usernames_round_trip_at_full_length(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let names = [
        "é".repeat(100),
        "名".repeat(100),
        "🔐".repeat(100),
        "ü名🔐a".repeat(25),
    ];

    for name in &names {
        store
            .save(&record(name, vec![7; 57]), SaveMode::Create)
            .await
            .expect("save");
    }

    for name in &names {
        let loaded = store.load(name).await.expect("load").expect("saved row");
        assert_eq!(&loaded.username, name);
        assert_eq!(loaded.username.chars().count(), 100);
    }
    store.close().await;
    loc.cleanup().await;
}

/// Quotes, semicolons, backslashes and SQL fragments in names are stored literally.
pub async fn quote_and_semicolon_names_are_stored_literally(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let names = [
        "o'brien",
        "\"quoted\"",
        "semi;colon",
        "x'); DROP TABLE totp_configurations; --",
        "back\\slash",
        "percent%_",
    ];

    for name in names {
        store
            .save(&record(name, vec![3; 57]), SaveMode::Create)
            .await
            .expect("save");
    }

    for name in names {
        let loaded = store.load(name).await.expect("load").expect("saved row");
        assert_eq!(loaded.username, name);
    }
    assert!(
        store.load("percentX_").await.expect("load").is_none(),
        "no LIKE matching"
    );
    assert_eq!(
        store.list(None, 100).await.expect("list").len(),
        names.len()
    );
    store.close().await;
    loc.cleanup().await;
}

/// 250 users listed in pages of 100 come back each exactly once, in the same order each time.
pub async fn paged_listing_returns_each_user_once_in_a_stable_order(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let mut expected: Vec<String> = (0..250)
        .map(|i| format!("user{:03}-{}", (i * 37) % 250, i % 3))
        .collect();
    expected.extend([
        "Zed".to_owned(),
        "zed".to_owned(),
        "zed ".to_owned(),
        "ß".to_owned(),
    ]);
    for name in &expected {
        store
            .save(&record(name, vec![1; 57]), SaveMode::Create)
            .await
            .expect("save");
    }

    let pages = |store: Arc<dyn TotpStore>| async move {
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list(after.as_deref(), 100).await.expect("list");
            assert!(page.len() <= 100, "a page holds at most the limit");
            let Some(last) = page.last() else { break };
            after = Some(last.username.clone());
            seen.extend(page.into_iter().map(|r| r.username));
        }
        seen
    };
    let store: Arc<dyn TotpStore> = Arc::from(store);
    let first = pages(store.clone()).await;
    let second = pages(store.clone()).await;

    assert_eq!(first.len(), expected.len(), "every user once");
    let unique: HashSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), expected.len(), "no user twice");
    assert_eq!(first, second, "the order is stable");
    let mut sorted = first.clone();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(first, sorted, "ordered by the username's bytes");
    store.close().await;
    loc.cleanup().await;
}

/// 20 concurrent create-only saves of one user: exactly one wins, the rest get `AlreadyExists`.
pub async fn concurrent_create_only_saves_have_exactly_one_winner(h: &dyn Harness) {
    let loc = location(h).await;
    let store: Arc<dyn TotpStore> = Arc::from(open(loc.as_ref()).await);

    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .save(&record("race", vec![i; 57]), SaveMode::Create)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(()) => wins += 1,
            Err(StoreError::AlreadyExists(_)) => {}
            Err(other) => panic!("a losing save must report AlreadyExists, got {other:?}"),
        }
    }

    assert_eq!(wins, 1);
    assert_eq!(store.list(None, 100).await.expect("list").len(), 1);
    store.close().await;
    loc.cleanup().await;
}

/// 20 concurrent overwrites of one user leave exactly one row, holding one writer's value.
pub async fn concurrent_overwrites_leave_exactly_one_row(h: &dyn Harness) {
    let loc = location(h).await;
    let store: Arc<dyn TotpStore> = Arc::from(open(loc.as_ref()).await);

    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .save(&record("race", vec![i; 57]), SaveMode::Overwrite)
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("every overwrite succeeds");
    }

    let rows = store.list(None, 100).await.expect("list");
    assert_eq!(rows.len(), 1);
    let byte = rows[0].secret.0[0];
    assert!(
        byte < 20 && rows[0].secret.0.iter().all(|b| *b == byte),
        "one writer's whole value"
    );
    store.close().await;
    loc.cleanup().await;
}

/// Metadata values round-trip, overwrite, and refuse a create-only write of an existing key.
pub async fn metadata_round_trips_and_overwrites(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    let every_byte: Vec<u8> = (0..=255).collect();

    assert_eq!(store.get_metadata("k").await.expect("get"), None);
    store
        .put_metadata("k", &every_byte, SaveMode::Create)
        .await
        .expect("put");
    assert_eq!(
        store.get_metadata("k").await.expect("get"),
        Some(every_byte.clone())
    );

    let err = store
        .put_metadata("k", b"other", SaveMode::Create)
        .await
        .expect_err("create twice");
    assert!(matches!(err, StoreError::AlreadyExists(_)), "got {err:?}");
    assert_eq!(
        store.get_metadata("k").await.expect("get"),
        Some(every_byte)
    );

    store
        .put_metadata("k", b"replaced", SaveMode::Overwrite)
        .await
        .expect("overwrite");
    store
        .put_metadata("K", b"other key", SaveMode::Create)
        .await
        .expect("keys are exact");
    assert_eq!(
        store.get_metadata("k").await.expect("get").as_deref(),
        Some(&b"replaced"[..])
    );
    store.close().await;
    loc.cleanup().await;
}

/// A second store connected to the same location sees what the first one wrote.
pub async fn second_store_on_the_same_location_sees_the_data(h: &dyn Harness) {
    let loc = location(h).await;
    let first = open(loc.as_ref()).await;
    first
        .save(&record("shared", vec![5; 57]), SaveMode::Create)
        .await
        .expect("save");
    first
        .put_metadata("m", b"v", SaveMode::Create)
        .await
        .expect("put");

    let second = open(loc.as_ref()).await;

    assert_eq!(
        second.load("shared").await.expect("load"),
        Some(record("shared", vec![5; 57]))
    );
    assert_eq!(
        second.get_metadata("m").await.expect("get").as_deref(),
        Some(&b"v"[..])
    );
    first.close().await;
    second.close().await;
    loc.cleanup().await;
}

/// A store on another location (database, schema, file) does not see this one's data.
pub async fn store_on_another_location_sees_nothing(h: &dyn Harness) {
    let here = location(h).await;
    let there = location(h).await;
    let a = open(here.as_ref()).await;
    a.save(&record("isolated", vec![5; 57]), SaveMode::Create)
        .await
        .expect("save");

    let b = open(there.as_ref()).await;

    assert!(b.load("isolated").await.expect("load").is_none());
    assert!(b.list(None, 10).await.expect("list").is_empty());
    a.close().await;
    b.close().await;
    here.cleanup().await;
    there.cleanup().await;
}

/// Opening an initialised location again changes nothing and reports the latest version.
pub async fn reopening_an_initialised_location_is_idempotent(h: &dyn Harness) {
    let loc = location(h).await;
    let first = open(loc.as_ref()).await;
    first
        .save(&record("kept", vec![5; 57]), SaveMode::Create)
        .await
        .expect("save");
    let version = first.schema_version().await.expect("version");
    first.close().await;

    let again = open(loc.as_ref()).await;
    let applied = again
        .migrate_up()
        .await
        .expect("migrate_up on a current schema");

    assert_eq!(version.current, Some(version.latest));
    assert!(applied.is_empty(), "nothing to apply, got {applied:?}");
    assert_eq!(again.schema_version().await.expect("version"), version);
    assert!(again.load("kept").await.expect("load").is_some());
    again.close().await;
    loc.cleanup().await;
}

/// A location holding a same-named table this tool did not create is refused, not adopted:
/// [`totpstore::store::OWN_TABLES`] names them.
pub async fn same_named_foreign_table_is_refused(h: &dyn Harness) {
    for table in totpstore::store::OWN_TABLES {
        let loc = location(h).await;
        loc.create_foreign_table(table)
            .await
            .expect("create the foreign table");
        let store = loc.connect().await.expect("connect");

        let version = store.schema_version().await;
        let migrated = store.migrate_up().await;

        assert!(
            matches!(version, Err(StoreError::ForeignTable { .. })),
            "{table}: {version:?}"
        );
        assert!(
            matches!(migrated, Err(StoreError::ForeignTable { .. })),
            "{table}: {migrated:?}"
        );
        store.close().await;
        loc.cleanup().await;
    }
}

/// Every call on a closed store returns an error rather than panicking.
pub async fn closed_store_returns_errors_not_panics(h: &dyn Harness) {
    let loc = location(h).await;
    let store = open(loc.as_ref()).await;
    store.close().await;

    assert!(store.load("x").await.is_err());
    assert!(store
        .save(&record("x", vec![1; 57]), SaveMode::Create)
        .await
        .is_err());
    assert!(store.delete("x").await.is_err());
    assert!(store.list(None, 1).await.is_err());
    assert!(store.get_metadata("x").await.is_err());
    assert!(store
        .put_metadata("x", b"v", SaveMode::Overwrite)
        .await
        .is_err());
    assert!(store.schema_version().await.is_err());
    loc.cleanup().await;
}

/// A store that cannot reach its database fails with an error within the deadline.
pub async fn unreachable_store_fails_within_the_deadline(h: &dyn Harness) {
    let started = Instant::now();

    let outcome = tokio::time::timeout(UNREACHABLE_DEADLINE, async {
        match h.connect_unreachable().await {
            Err(e) => Err(e),
            Ok(store) => store.schema_version().await.map(|_| ()),
        }
    })
    .await;

    let outcome = outcome.unwrap_or_else(|_| panic!("no answer within {UNREACHABLE_DEADLINE:?}"));
    assert!(
        outcome.is_err(),
        "an unreachable store must report an error"
    );
    assert!(started.elapsed() < UNREACHABLE_DEADLINE);
}
