//! Reading `TOTPSTORE_*` environment variables into [`Settings`].
//!
//! Each known path `a.b_c` is read from `TOTPSTORE_A_B_C`; a secret also from
//! `TOTPSTORE_A_B_C_FILE`, which names a file holding the value. An empty variable counts as
//! unset, as container tooling often exports empty ones.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::SecretString;

use super::ENV_PREFIX;
use super::{read_text, trim_one_newline, Catalogue, ConfigError, Settings, Source, Value};

/// The variable name for a configuration path, e.g. `TOTPSTORE_STORAGE_LOCAL_PATH`.
pub fn env_var_name(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.replace('.', "_").to_ascii_uppercase()
    )
}

/// Reads every known path's variable through `lookup` (normally `std::env::var_os`).
pub fn read_env(
    catalogue: &Catalogue,
    settings: &mut Settings,
    lookup: &dyn Fn(&str) -> Option<OsString>,
) -> Result<(), ConfigError> {
    let get = |name: &str| -> Result<Option<String>, ConfigError> {
        match lookup(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|_| ConfigError::EnvNotUnicode(name.into())),
        }
    };

    for spec in catalogue.keys() {
        let name = env_var_name(&spec.path);
        let direct = get(&name)?;
        let file_var = format!("{name}_FILE");
        let from_file = if spec.secret { get(&file_var)? } else { None };
        let value = match (direct, from_file) {
            (Some(_), Some(_)) => return Err(ConfigError::EnvBoth(name)),
            (Some(v), None) => Some((v, name)),
            (None, Some(file)) => {
                let path = PathBuf::from(file);
                let text = read_text(&path).map_err(|source| ConfigError::EnvFile {
                    var: file_var.clone(),
                    path,
                    source,
                })?;
                Some((trim_one_newline(&text).to_owned(), file_var))
            }
            (None, None) => None,
        };
        if let Some((text, var)) = value {
            let value = if spec.secret {
                Value::Secret(SecretString::from(text))
            } else {
                Value::Plain(text)
            };
            settings.set(&spec.path, value, Source::Env(var));
        }
    }

    // As in files, TLS settings of a backend are refused rather than ignored.
    for section in catalogue.sections() {
        let tls = env_var_name(&format!("storage.{section}.tls"));
        if let Some(var) = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .find(|k| {
                (*k == tls || k.starts_with(&format!("{tls}_")))
                    && lookup(k).is_some_and(|v| !v.is_empty())
            })
        {
            return Err(ConfigError::TlsUnsupported {
                key: format!("storage.{section}.tls"),
                origin: Source::Env(var),
            });
        }
    }

    // A backend section this build lacks, set from the environment, must still be reported.
    let sections: Vec<String> = catalogue.absent_sections.keys().cloned().collect();
    for section in sections {
        let prefix = env_var_name(&format!("storage.{section}."));
        if let Some(var) = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .find(|k| k.starts_with(&prefix) && lookup(k).is_some_and(|v| !v.is_empty()))
        {
            settings
                .absent_sections_set
                .insert(section, Source::Env(var));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn run(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let catalogue = Catalogue::new(&[], &[]);
        let mut settings = Settings::default();
        read_env(&catalogue, &mut settings, &|name| vars.get(name).cloned())?;
        Ok(settings)
    }

    #[test]
    fn names_follow_the_key_path() {
        assert_eq!(
            env_var_name("storage.encryption_key"),
            "TOTPSTORE_STORAGE_ENCRYPTION_KEY"
        );
        assert_eq!(
            env_var_name("totp.secret_size"),
            "TOTPSTORE_TOTP_SECRET_SIZE"
        );
    }

    #[test]
    fn reads_plain_and_file_variables() {
        let dir = std::env::temp_dir().join(format!("totpstore-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("key");
        std::fs::write(&key_file, "a-key-from-a-file-of-length\r\n").unwrap();

        let s = run(&[
            ("TOTPSTORE_TOTP_ISSUER", "Example"),
            (
                "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
                key_file.to_str().unwrap(),
            ),
        ])
        .unwrap();

        assert_eq!(s.text("totp.issuer"), Some("Example"));
        let Value::Secret(key) = &s.get("storage.encryption_key").unwrap().value else {
            panic!("the key must be read as a secret");
        };
        assert_eq!(key.expose_secret(), "a-key-from-a-file-of-length");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_variable_and_its_file_variant_together_are_refused() {
        let err = run(&[
            ("TOTPSTORE_STORAGE_ENCRYPTION_KEY", "x"),
            ("TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE", "/nonexistent"),
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::EnvBoth(_)));
    }

    #[test]
    fn an_unreadable_file_variant_is_named() {
        let err =
            run(&[("TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE", "/nonexistent/key")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE"),
            "{err}"
        );
    }
}
