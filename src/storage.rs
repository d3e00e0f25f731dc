//! Opening a store for use, and the operations built on it.
//!
//! This is where the core stands between the user and a backend: it brings a new database's
//! schema into being, refuses one that is too old or too new, checks the encryption key against
//! the stored check value before anything is written, and seals secrets before a backend sees
//! them.

use secrecy::ExposeSecret;
use tracing::debug;

use crate::crypto::{PlainSecret, SealingKey, CHECK_KEY};
use crate::error::Error;
use crate::model::{self, Algorithm, SaveMode, SealedSecret, TotpRecord};
use crate::registry::{BackendDescriptor, BackendOptions};
use crate::store::{SchemaVersion, StoreError, TotpStore};

/// What opening may do to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaPolicy {
    /// Initialise a database with none of our tables; refuse any other version mismatch.
    InitialiseEmpty,
    /// Apply every pending migration (`storage migrate up`).
    MigrateUp,
}

/// A store whose schema and encryption key have been checked.
pub struct Storage {
    store: Box<dyn TotpStore>,
    key: SealingKey,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("backend", &self.store.backend_name())
            .finish_non_exhaustive()
    }
}

/// Connects to a backend through its registry entry.
pub async fn connect(
    descriptor: &BackendDescriptor,
    options: BackendOptions,
) -> Result<Box<dyn TotpStore>, Error> {
    debug!(backend = descriptor.name, "connecting");
    Ok((descriptor.connect)(options).await?)
}

/// Brings the schema to this binary's version as `policy` allows, and returns the versions
/// applied.
pub async fn prepare_schema(
    store: &dyn TotpStore,
    policy: SchemaPolicy,
) -> Result<Vec<u32>, Error> {
    let SchemaVersion { current, latest } = store.schema_version().await?;
    match (current, policy) {
        (Some(current), _) if current > latest => Err(Error::SchemaTooNew { current, latest }),
        (Some(current), SchemaPolicy::InitialiseEmpty) if current < latest => {
            Err(Error::SchemaOutdated { current, latest })
        }
        (Some(_), SchemaPolicy::InitialiseEmpty) => Ok(Vec::new()),
        (None, _) | (Some(_), SchemaPolicy::MigrateUp) => {
            let applied = store.migrate_up().await?;
            debug!(?applied, "schema migrations applied");
            Ok(applied)
        }
    }
}

/// Checks `key` against the stored check value, storing one first if the database has none
/// and holds no records.
///
/// Two processes initialising the same database at once both try a create-only write; the
/// loser re-reads the winner's value and checks its key against that.
///
/// A store with records but no check value is refused: storing a new check value would let
/// any key in, and secrets sealed with two keys would end up side by side.
pub async fn check_key(store: &dyn TotpStore, key: &SealingKey) -> Result<(), Error> {
    if let Some(stored) = store.get_metadata(CHECK_KEY).await? {
        return key.verify_check(&stored).map_err(|_| Error::WrongKey);
    }
    if !store.list(None, 1).await?.is_empty() {
        // Every writer stores the check value before its first record, so a record seen now
        // means a check value committed earlier, unless it is truly missing: read it again.
        let stored = store
            .get_metadata(CHECK_KEY)
            .await?
            .ok_or(Error::CheckValueMissing)?;
        return key.verify_check(&stored).map_err(|_| Error::WrongKey);
    }
    match store
        .put_metadata(CHECK_KEY, &key.seal_check(), SaveMode::Create)
        .await
    {
        Ok(()) => {
            debug!("encryption check value stored");
            Ok(())
        }
        Err(StoreError::AlreadyExists(_)) => {
            let stored = store
                .get_metadata(CHECK_KEY)
                .await?
                .ok_or(Error::WrongKey)?;
            key.verify_check(&stored).map_err(|_| Error::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

impl Storage {
    /// Prepares the schema and checks the key; on any failure the store is closed.
    pub async fn open(
        store: Box<dyn TotpStore>,
        key: SealingKey,
        policy: SchemaPolicy,
    ) -> Result<Self, Error> {
        let checked = async {
            prepare_schema(store.as_ref(), policy).await?;
            check_key(store.as_ref(), &key).await
        }
        .await;
        match checked {
            Ok(()) => Ok(Self { store, key }),
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &dyn TotpStore {
        self.store.as_ref()
    }

    /// Seals `config`'s secret and saves it in one atomic write.
    pub async fn save_totp(&self, config: &NewTotp, mode: SaveMode) -> Result<(), Error> {
        let record = TotpRecord {
            username: config.username.clone(),
            issuer: config.issuer.clone(),
            algorithm: config.algorithm,
            digits: config.digits,
            period: config.period,
            secret: SealedSecret(self.key.seal_secret(&config.username, &config.secret)),
            created_at: model::now(),
            last_used_at: None,
        };
        match self.store.save(&record, mode).await {
            Err(StoreError::AlreadyExists(_)) => {
                Err(Error::AlreadyConfigured(config.username.clone()))
            }
            other => Ok(other?),
        }
    }

    /// Loads a user's configuration and opens its secret.
    pub async fn load_totp(&self, username: &str) -> Result<Option<NewTotp>, Error> {
        let Some(record) = self.store.load(username).await? else {
            return Ok(None);
        };
        let secret = self.key.open_secret(&record.username, &record.secret.0)?;
        Ok(Some(NewTotp {
            username: record.username,
            issuer: record.issuer,
            algorithm: record.algorithm,
            digits: record.digits,
            period: record.period,
            secret,
        }))
    }

    /// Closes the store's connections.
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// A TOTP configuration with its plaintext secret, before sealing or after opening.
pub struct NewTotp {
    /// Account name.
    pub username: String,
    /// Issuer.
    pub issuer: String,
    /// HMAC algorithm.
    pub algorithm: Algorithm,
    /// Code length.
    pub digits: u32,
    /// Seconds per code.
    pub period: u32,
    /// The plaintext secret.
    pub secret: PlainSecret,
}

impl std::fmt::Debug for NewTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTotp")
            .field("username", &self.username)
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("secret_bytes", &self.secret.expose_secret().len())
            .finish_non_exhaustive()
    }
}
