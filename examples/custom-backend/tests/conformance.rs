//! The shared conformance suite on the JSON-file backend, one temporary folder per case.

use std::path::{Path, PathBuf};

use totpstore::{async_trait, BackendOptions, StoreError, TotpStore};
use totpstore_conformance::{BoxError, Harness, Location};

struct JsonFileHarness;

struct JsonFileLocation {
    dir: tempfile::TempDir,
}

impl JsonFileLocation {
    fn path(&self) -> PathBuf {
        self.dir.path().join("totpstore.json")
    }
}

/// Connects through the registry, as the CLI does, so the registration is tested too.
async fn connect(path: &Path) -> Result<Box<dyn TotpStore>, StoreError> {
    totpstore_jsonfile::link();
    let descriptor = totpstore::registry::backend(totpstore_jsonfile::NAME)
        .expect("the jsonfile backend is registered");
    let mut options = BackendOptions::new(descriptor.name);
    options.set("path", path.to_string_lossy());
    (descriptor.connect)(options).await
}

#[async_trait]
impl Harness for JsonFileHarness {
    async fn location(&self) -> Result<Box<dyn Location>, BoxError> {
        Ok(Box::new(JsonFileLocation {
            dir: tempfile::tempdir()?,
        }))
    }

    async fn connect_unreachable(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        connect(Path::new("/nonexistent-totpstore-folder/totpstore.json")).await
    }
}

#[async_trait]
impl Location for JsonFileLocation {
    async fn connect(&self) -> Result<Box<dyn TotpStore>, StoreError> {
        connect(&self.path()).await
    }

    async fn create_foreign_table(&self, table: &str) -> Result<(), BoxError> {
        // Another program's JSON file with a same-named top-level key and no history of ours.
        let text = format!("{{\"{table}\": [{{\"id\": 1, \"note\": \"not totpstore's\"}}]}}\n");
        std::fs::write(self.path(), text)?;
        Ok(())
    }

    async fn cleanup(&self) {}
}

totpstore_conformance::conformance_tests!(Some(JsonFileHarness));
