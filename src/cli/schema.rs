//! `storage migrate up` and `storage schema-info`.

use clap::ArgMatches;

use crate::error::Error;
use crate::registry::BackendDescriptor;
use crate::storage::{self, SchemaPolicy, Storage};

use super::settings;

/// Applies every pending migration and checks (or stores) the encryption check value.
pub async fn migrate_up(
    matches: &ArgMatches,
    backends: &[&'static BackendDescriptor],
) -> Result<String, Error> {
    let settings = settings::load(matches, backends)?;
    let key = settings::sealing_key(&settings)?;
    let (backend, options) = settings::select_backend(&settings, backends)?;

    let store = storage::connect(backend, options).await?;
    let before = store.schema_version().await;
    let storage = Storage::open(store, key, SchemaPolicy::MigrateUp).await?;
    let after = storage.store().schema_version().await;
    storage.close().await;

    let after = after?;
    let before = before?.current.unwrap_or(0);
    let now = after.current.unwrap_or(0);
    Ok(if before == now {
        format!("The {} schema is up to date at version {now}", backend.name)
    } else {
        format!(
            "Migrated the {} schema from version {before} to version {now}",
            backend.name
        )
    })
}

/// Shows the schema version without changing anything.
pub async fn schema_info(
    matches: &ArgMatches,
    backends: &[&'static BackendDescriptor],
) -> Result<String, Error> {
    let settings = settings::load(matches, backends)?;
    let (backend, mut options) = settings::select_backend(&settings, backends)?;
    options.set_inspect_only(true);

    let store = storage::connect(backend, options).await?;
    let version = store.schema_version().await;
    store.close().await;
    let version = version?;

    let current = version
        .current
        .map_or("none (not initialised)".to_owned(), |v| v.to_string());
    let state = match version.current {
        None => "will be initialised on first use",
        Some(v) if v < version.latest => "outdated; run `totpstore storage migrate up`",
        Some(v) if v > version.latest => "newer than this binary",
        Some(_) => "up to date",
    };
    Ok(format!(
        "Backend: {}\nSchema version: {current}\nLatest version: {}\nState: {state}",
        backend.name, version.latest
    ))
}
