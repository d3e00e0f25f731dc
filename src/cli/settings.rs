//! From parsed flags to checked settings: which configuration files to read, the merge of all
//! layers, the encryption key, and the choice of exactly one backend.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::ArgMatches;
use secrecy::SecretString;

use crate::backends::IN_TREE;
use crate::config::{
    self, env_var_name, Catalogue, ConfigPaths, Filter, Settings, Source, Value, ENV_PREFIX,
};
use crate::crypto::SealingKey;
use crate::error::Error;
use crate::registry::{BackendDescriptor, BackendOptions};

use super::command::ids;

/// Whether the user typed this flag (a default never counts).
pub fn typed(matches: &ArgMatches, id: &str) -> bool {
    matches!(matches.value_source(id), Some(ValueSource::CommandLine))
}

/// The catalogue of known configuration paths for the registered backends.
pub fn catalogue(backends: &[&'static BackendDescriptor]) -> Catalogue {
    let absent: Vec<(&str, &str)> = IN_TREE
        .iter()
        .filter(|t| !backends.iter().any(|b| b.name == t.name))
        .map(|t| (t.section, t.name))
        .collect();
    Catalogue::new(backends, &absent)
}

/// Loads files, environment and typed flags into one [`Settings`].
pub fn load(
    matches: &ArgMatches,
    backends: &[&'static BackendDescriptor],
) -> Result<Settings, Error> {
    let catalogue = catalogue(backends);
    let mut settings = Settings::default();

    let env_text = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let list = |raw: &str| -> Vec<String> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };

    let paths = if typed(matches, ids::CONFIG) {
        let paths = matches
            .get_many::<String>(ids::CONFIG)
            .into_iter()
            .flatten();
        ConfigPaths {
            paths: paths.map(PathBuf::from).collect(),
            explicit: true,
        }
    } else if let Some(raw) = env_text(&format!("{ENV_PREFIX}CONFIG")) {
        ConfigPaths {
            paths: list(&raw).into_iter().map(PathBuf::from).collect(),
            explicit: true,
        }
    } else {
        ConfigPaths::default()
    };

    let filter_names: Vec<String> = if typed(matches, ids::FILTERS) {
        matches
            .get_many::<String>(ids::FILTERS)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    } else {
        env_text(&format!("{ENV_PREFIX}CONFIG_FILTERS"))
            .map(|raw| list(&raw))
            .unwrap_or_default()
    };
    let filters = filter_names
        .iter()
        .map(|name| name.parse::<Filter>())
        .collect::<Result<Vec<_>, _>>()?;

    config::load_files(&paths, &filters, &catalogue, &mut settings)?;
    config::read_env(&catalogue, &mut settings, &|name| std::env::var_os(name))?;

    if typed(matches, ids::ENCRYPTION_KEY) {
        if let Some(key) = matches.get_one::<String>(ids::ENCRYPTION_KEY) {
            let value = Value::Secret(SecretString::from(key.as_str()));
            settings.set(
                "storage.encryption_key",
                value,
                Source::Flag(ids::ENCRYPTION_KEY.into()),
            );
        }
    }
    for backend in backends {
        for option in backend.flag_options() {
            let flag = backend.flag_name(option);
            if !typed(matches, &flag) {
                continue;
            }
            if let Some(text) = matches.get_one::<String>(&flag) {
                let value = if option.secret {
                    Value::Secret(SecretString::from(text.as_str()))
                } else {
                    Value::Plain(text.clone())
                };
                settings.set(&backend.config_key(option), value, Source::Flag(flag));
            }
        }
    }

    for warning in &settings.warnings {
        super::warn(warning);
    }
    Ok(settings)
}

/// The sealing key from the merged settings; required, at least 20 characters.
pub fn sealing_key(settings: &Settings) -> Result<SealingKey, Error> {
    let Some(setting) = settings.get("storage.encryption_key") else {
        return Err(Error::invalid(
            "encryption key",
            format!(
                "none is set; pass --encryption-key, set {} (or its _FILE variant), or set \
                 storage.encryption_key in the configuration file",
                env_var_name("storage.encryption_key")
            ),
        ));
    };
    let key = match &setting.value {
        Value::Secret(key) => key.clone(),
        Value::Plain(text) => SecretString::from(text.as_str()),
    };
    SealingKey::derive(&key).map_err(|e| Error::invalid("encryption key", e.to_string()))
}

/// Picks the one backend whose options are set, and builds its options.
pub fn select_backend(
    settings: &Settings,
    backends: &[&'static BackendDescriptor],
) -> Result<(&'static BackendDescriptor, BackendOptions), Error> {
    if let Some((section, _)) = settings.absent_sections_set.iter().next() {
        let tree = IN_TREE.iter().find(|t| t.section == section);
        return Err(Error::BackendNotCompiled {
            name: tree.map_or(section.as_str(), |t| t.name).into(),
            feature: tree.map_or(section.as_str(), |t| t.feature).into(),
        });
    }
    if backends.is_empty() {
        return Err(Error::NoBackendCompiled);
    }

    let selected: Vec<(&'static BackendDescriptor, &Source)> = backends
        .iter()
        .filter_map(|b| {
            let prefix = format!("storage.{}.", b.section);
            settings.under(&prefix).next().map(|(_, s)| (*b, &s.source))
        })
        .collect();

    match selected.as_slice() {
        [] => {
            let choices: Vec<String> = backends
                .iter()
                .map(|b| {
                    let flags: Vec<String> = b
                        .flag_options()
                        .map(|o| format!("--{}", b.flag_name(o)))
                        .collect();
                    format!(
                        "{} ({}, or storage.{} in a configuration file)",
                        b.name,
                        flags.join(" / "),
                        b.section
                    )
                })
                .collect();
            Err(Error::NoBackend {
                choices: choices.join("; "),
            })
        }
        [(backend, _)] => Ok((backend, options_for(settings, backend))),
        several => {
            let named: Vec<String> = several
                .iter()
                .map(|(b, source)| format!("{} from {source}", b.name))
                .collect();
            Err(Error::SeveralBackends(named.join(", ")))
        }
    }
}

fn options_for(settings: &Settings, backend: &BackendDescriptor) -> BackendOptions {
    let mut options = BackendOptions::new(backend.name);
    for option in backend.options {
        match settings.get(&backend.config_key(option)).map(|s| &s.value) {
            Some(Value::Secret(secret)) => {
                options.set_secret(option.key, secret.clone());
            }
            Some(Value::Plain(text)) if option.secret => {
                options.set_secret(option.key, SecretString::from(text.as_str()));
            }
            Some(Value::Plain(text)) => {
                options.set(option.key, text.clone());
            }
            None => {
                if let Some(default) = option.default {
                    options.set(option.key, default);
                }
            }
        }
    }
    options
}
