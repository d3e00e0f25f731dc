//! Reading YAML configuration files and folders into [`Settings`].

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_yaml::Value as Yaml;

use super::filters::{apply_filters, Filter};
use super::{Catalogue, ConfigError, Settings, Source, Value, DEFAULT_CONFIG};

/// The files and folders to read, in order.
#[derive(Debug, Clone)]
pub struct ConfigPaths {
    /// Files or folders; later ones override earlier ones.
    pub paths: Vec<PathBuf>,
    /// Whether the user named them; if not, a missing default file is skipped silently.
    pub explicit: bool,
}

impl Default for ConfigPaths {
    fn default() -> Self {
        Self {
            paths: vec![PathBuf::from(DEFAULT_CONFIG)],
            explicit: false,
        }
    }
}

/// Reads every file of `paths` into `settings`, applying `filters` to each file's text.
pub fn load_files(
    paths: &ConfigPaths,
    filters: &[Filter],
    catalogue: &Catalogue,
    settings: &mut Settings,
) -> Result<(), ConfigError> {
    for path in &paths.paths {
        for file in expand(path, paths.explicit)? {
            let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            let text = apply_filters(filters, &file, &text)?;
            load_text(&file, &text, catalogue, settings)?;
        }
    }
    Ok(())
}

/// A file stands for itself; a folder for its `.yml` and `.yaml` files in name order.
fn expand(path: &Path, explicit: bool) -> Result<Vec<PathBuf>, ConfigError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return if explicit {
                Err(ConfigError::Missing(path.into()))
            } else {
                Ok(vec![])
            };
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.into(),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Ok(vec![path.into()]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let file = entry.path();
        let yaml = matches!(
            file.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        );
        if yaml && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses one file's (filtered) text and records the settings it holds.
pub(crate) fn load_text(
    file: &Path,
    text: &str,
    catalogue: &Catalogue,
    settings: &mut Settings,
) -> Result<(), ConfigError> {
    let doc: Yaml = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = e.to_string();
        // serde_yaml appends " at line L column C"; the location is already in our message.
        let message = message.split(" at line ").next().unwrap_or(&message);
        let message = hide_values(message);
        ConfigError::Yaml {
            path: file.into(),
            line,
            column,
            message,
        }
    })?;
    let top = match doc {
        Yaml::Null => return Ok(()),
        Yaml::Mapping(map) => map,
        _ => return Err(shape(file, "(top level)", "must be a mapping of sections")),
    };

    // Sections other than storage and totp belong to the rest of an Authelia configuration.
    for (key, value) in top {
        match key.as_str() {
            Some("storage") => walk_section(file, "storage", value, catalogue, settings)?,
            Some("totp") => walk_section(file, "totp", value, catalogue, settings)?,
            _ => {}
        }
    }
    Ok(())
}

/// serde_yaml quotes the value it could not read in backticks (an unquoted number too large
/// for 64 bits: ``invalid type: integer `4821…` as u128``); that value may be a key or a
/// password, so it is replaced, with the usual fix.
fn hide_values(message: &str) -> String {
    if !message.contains('`') {
        return message.to_owned();
    }
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        let shown = if i % 2 == 0 {
            part
        } else {
            "(value not shown)"
        };
        out.push_str(shown);
    }
    out.push_str("; put the value in quotes to read it as text");
    out
}

fn walk_section(
    file: &Path,
    prefix: &str,
    value: Yaml,
    catalogue: &Catalogue,
    settings: &mut Settings,
) -> Result<(), ConfigError> {
    let map = match value {
        Yaml::Null => return Ok(()),
        Yaml::Mapping(map) => map,
        _ => return Err(shape(file, prefix, "must be a mapping")),
    };
    for (key, value) in map {
        let Some(key) = key.as_str().map(str::to_owned) else {
            return Err(shape(file, prefix, "has a key that is not a string"));
        };
        let path = format!("{prefix}.{key}");
        if let Some(spec) = catalogue.get(&path) {
            if let Some(text) = scalar(file, &path, value)? {
                let value = if spec.secret {
                    Value::Secret(SecretString::from(text))
                } else {
                    Value::Plain(text)
                };
                settings.set(&path, value, Source::File(file.into()));
            }
        } else if prefix == "storage" && catalogue.section_known(&key) {
            walk_section(file, &path, value, catalogue, settings)?;
        } else if prefix == "storage" && catalogue.absent_backend(&key).is_some() {
            if !value.is_null() {
                settings
                    .absent_sections_set
                    .insert(key, Source::File(file.into()));
            }
        } else {
            settings.warnings.push(format!(
                "unknown configuration key '{path}' in '{}' is ignored",
                file.display()
            ));
        }
    }
    Ok(())
}

/// A scalar as text; `None` for null (an unset key).
fn scalar(file: &Path, path: &str, value: Yaml) -> Result<Option<String>, ConfigError> {
    match value {
        Yaml::Null => Ok(None),
        Yaml::String(s) => Ok(Some(s)),
        Yaml::Number(n) => Ok(Some(n.to_string())),
        Yaml::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(shape(
            file,
            path,
            "must be a single value, not a list or mapping",
        )),
    }
}

fn shape(file: &Path, key: &str, reason: &str) -> ConfigError {
    ConfigError::Shape {
        path: file.into(),
        key: key.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        let mut c = Catalogue::new(&[], &[("mysql", "mysql")]);
        c.keys.push(super::super::KeySpec {
            path: "storage.local.path".into(),
            secret: false,
        });
        c
    }

    fn load(text: &str) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        load_text(Path::new("test.yml"), text, &catalogue(), &mut settings)?;
        Ok(settings)
    }

    #[test]
    fn reads_known_keys_and_ignores_other_sections() {
        let s = load(
            "server:\n  address: 'tcp://:9091'\nstorage:\n  encryption_key: 'k'\n  local:\n    \
             path: /tmp/db.sqlite3\ntotp:\n  digits: 8\n",
        )
        .unwrap();
        assert_eq!(s.text("storage.local.path"), Some("/tmp/db.sqlite3"));
        assert_eq!(s.text("totp.digits"), Some("8"));
        assert!(matches!(
            s.get("storage.encryption_key").unwrap().value,
            Value::Secret(_)
        ));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn unknown_keys_in_our_sections_are_warned_about() {
        let s =
            load("storage:\n  colour: blue\n  local:\n    size: 3\ntotp:\n  skew: 1\n").unwrap();
        let all = s.warnings.join("\n");
        for key in ["storage.colour", "storage.local.size", "totp.skew"] {
            assert!(all.contains(key), "{key} missing from {all}");
        }
    }

    #[test]
    fn yaml_errors_name_file_line_and_column() {
        let err = load("storage:\n  local:\n    path: [unclosed\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cannot parse 'test.yml' at line "), "{msg}");
        assert!(matches!(err, ConfigError::Yaml { line: 3.., .. }), "{msg}");
    }

    #[test]
    fn sections_of_backends_not_built_are_recorded() {
        let s = load("storage:\n  mysql:\n    address: db\n").unwrap();
        assert!(s.absent_sections_set.contains_key("mysql"));
    }
}
