//! Reading YAML configuration files and folders into [`Settings`].

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::filters::{apply_filters, Filter};
use super::{
    read_limited, Catalogue, ConfigError, Position, Settings, Source, Value, DEFAULT_CONFIG,
    MAX_CONFIG_BYTES,
};

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
            let text =
                read_limited(&file, MAX_CONFIG_BYTES).map_err(|source| ConfigError::Read {
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
    let ctx = Ctx {
        catalogue,
        rejected: RefCell::new(None),
    };
    let mut documents = serde_yaml::Deserializer::from_str(text);
    let Some(first) = documents.next() else {
        return Ok(());
    };
    let root = NodeSeed {
        ctx: &ctx,
        path: String::new(),
        secret: false,
    };
    let doc = root
        .deserialize(first)
        .map_err(|e| yaml_error(file, &ctx, &e))?;
    // serde_yaml's own check says neither which file nor where; the second document is
    // located by reading it with a visitor that accepts nothing.
    if let Some(second) = documents.next() {
        let position = Locate.deserialize(second).err().and_then(|e| position(&e));
        return Err(ConfigError::SeveralDocuments {
            path: file.into(),
            position,
        });
    }
    let top = match doc {
        Node::Null => return Ok(()),
        Node::Map(map) => map,
        _ => return Err(shape(file, "(top level)", "must be a mapping of sections")),
    };

    // Sections other than storage and totp belong to the rest of an Authelia configuration.
    for (key, value) in top {
        match key.as_deref() {
            Some("storage") => walk_section(file, "storage", value, catalogue, settings)?,
            Some("totp") => walk_section(file, "totp", value, catalogue, settings)?,
            _ => {}
        }
    }
    Ok(())
}

/// The error for a failed parse; the rejections of our own visitors come first.
fn yaml_error(file: &Path, ctx: &Ctx<'_>, e: &serde_yaml::Error) -> ConfigError {
    let position = position(e);
    match ctx.rejected.take() {
        Some(Rejection::SecretNotString(key)) => {
            return ConfigError::SecretNotString {
                path: file.into(),
                key,
                position,
            }
        }
        Some(Rejection::DuplicateKey(key)) => {
            return ConfigError::DuplicateKey {
                path: file.into(),
                key,
                position,
            }
        }
        None => {}
    }
    let message = e.to_string();
    // serde_yaml appends " at line L column C"; the location is already in our message.
    let message = message.split(" at line ").next().unwrap_or(&message);
    let message = hide_values(message);
    ConfigError::Yaml {
        path: file.into(),
        position,
        message,
    }
}

fn position(e: &serde_yaml::Error) -> Option<Position> {
    e.location().map(|l| Position {
        line: l.line(),
        column: l.column(),
    })
}

/// Fails on whatever node it is given, so that serde_yaml's error tells where that node is.
struct Locate;

impl<'de> DeserializeSeed<'de> for Locate {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Locate {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no second document")
    }
}

/// serde_yaml's messages quote the text they could not read: in double quotes
/// (`invalid value: string "hunter2", expected an integer` for a `!!int` tag) or in backticks
/// (`integer `4821…` as u128`). That text may be a key or a password, so every quoted part
/// is replaced; an unclosed quote hides the rest of the message.
fn hide_values(message: &str) -> String {
    const HIDDEN: &str = "(value not shown)";
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '"' && c != '`' {
            out.push(c);
            continue;
        }
        out.push_str(HIDDEN);
        // Double-quoted text is Rust's Debug form, where a backslash escapes the next one.
        while let Some(inner) = chars.next() {
            if inner == c {
                break;
            }
            if inner == '\\' && c == '"' {
                chars.next();
            }
        }
    }
    out
}

/// A YAML node as far as this tool needs it: whether a scalar was read as a string matters,
/// because a key or password that YAML reads as a number comes back changed.
enum Node {
    Null,
    /// A string: quoted, or plain text that YAML reads neither as a number nor a boolean.
    Str(String),
    /// A number or a boolean, written back as text.
    Other(String),
    List,
    /// Entries in file order; `None` for a key that is not a string.
    Map(Vec<(Option<String>, Node)>),
    /// A value with a YAML tag such as `!secret`.
    Tagged,
}

/// Why one of our visitors stopped the parse; serde_yaml adds the position to its error.
enum Rejection {
    /// A secret key holds a number or boolean; never the value itself.
    SecretNotString(String),
    /// The same key twice in one mapping.
    DuplicateKey(String),
}

struct Ctx<'a> {
    catalogue: &'a Catalogue,
    rejected: RefCell<Option<Rejection>>,
}

impl Ctx<'_> {
    /// Keys and passwords must stay strings: the catalogue's secrets, and any password under
    /// `storage` (a section of a backend this build lacks, say).
    fn is_secret(&self, path: &str) -> bool {
        self.catalogue.get(path).is_some_and(|k| k.secret)
            || (path.starts_with("storage.") && path.ends_with(".password"))
    }
}

/// Reads one node at `path` (dotted, empty for the document).
struct NodeSeed<'c, 'a> {
    ctx: &'c Ctx<'a>,
    path: String,
    secret: bool,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl NodeSeed<'_, '_> {
    fn other<E: de::Error>(self, text: String) -> Result<Node, E> {
        if self.secret {
            *self.ctx.rejected.borrow_mut() = Some(Rejection::SecretNotString(self.path));
            return Err(E::custom("a secret is not a string"));
        }
        Ok(Node::Other(text))
    }

    fn child(&self, path: String) -> Self {
        let secret = self.ctx.is_secret(&path);
        NodeSeed {
            ctx: self.ctx,
            path,
            secret,
        }
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.other(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.other(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.other(v.to_string())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.other(v.to_string())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        self.other(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        // Written as serde_yaml writes numbers (`.inf`, `1.5`), as before.
        self.other(serde_yaml::Number::from(v).to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let path = format!("{}[]", self.path);
        while seq.next_element_seed(self.child(path.clone()))?.is_some() {}
        Ok(Node::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(Option<String>, Node)> = Vec::new();
        loop {
            let seed = KeySeed {
                ctx: self.ctx,
                parent: &self.path,
                seen: &entries,
            };
            let Some(key) = map.next_key_seed(seed)? else {
                break;
            };
            let path = match (&key, self.path.is_empty()) {
                (Some(key), true) => key.clone(),
                (Some(key), false) => format!("{}.{key}", self.path),
                (None, _) => format!("{}.?", self.path),
            };
            let value = map.next_value_seed(self.child(path))?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // serde_yaml hands a value with a custom tag over as an enum; a secret must be a
        // plain string, and the tagged value is read through so the parse stays in step.
        let (IgnoredAny, variant) = data.variant()?;
        if self.secret {
            return self.other(String::new());
        }
        variant.newtype_variant::<IgnoredAny>()?;
        Ok(Node::Tagged)
    }
}

/// Reads a mapping key: `Some` for a string, `None` for anything else. A key already in
/// `seen` is refused here, so that the error points at the second one.
struct KeySeed<'s, 'c, 'a> {
    ctx: &'c Ctx<'a>,
    parent: &'s str,
    seen: &'s [(Option<String>, Node)],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_, '_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if self.seen.iter().any(|(k, _)| k.as_deref() == Some(v)) {
            let path = if self.parent.is_empty() {
                v.to_owned()
            } else {
                format!("{}.{v}", self.parent)
            };
            *self.ctx.rejected.borrow_mut() = Some(Rejection::DuplicateKey(path));
            return Err(E::custom("duplicate key"));
        }
        Ok(Some(v.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_enum(data).map(|_| None)
    }
}

fn walk_section(
    file: &Path,
    prefix: &str,
    value: Node,
    catalogue: &Catalogue,
    settings: &mut Settings,
) -> Result<(), ConfigError> {
    let map = match value {
        Node::Null => return Ok(()),
        Node::Map(map) => map,
        _ => return Err(shape(file, prefix, "must be a mapping")),
    };
    for (key, value) in map {
        let Some(key) = key else {
            return Err(shape(file, prefix, "has a key that is not a string"));
        };
        let path = format!("{prefix}.{key}");
        // Fail closed: a backend section of an Authelia configuration may ask for TLS, which no
        // backend of this build speaks, and going on would connect in plain text.
        if prefix.starts_with("storage.") && key == "tls" {
            return Err(ConfigError::TlsUnsupported {
                key: path,
                origin: Source::File(file.into()),
            });
        }
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
            if !matches!(value, Node::Null) {
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
fn scalar(file: &Path, path: &str, value: Node) -> Result<Option<String>, ConfigError> {
    match value {
        Node::Null => Ok(None),
        Node::Str(s) | Node::Other(s) => Ok(Some(s)),
        Node::Tagged => Err(shape(
            file,
            path,
            "has a YAML tag; write the value without one",
        )),
        Node::List | Node::Map(_) => Err(shape(
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
        assert!(
            matches!(
                err,
                ConfigError::Yaml {
                    position: Some(Position { line: 3.., .. }),
                    ..
                }
            ),
            "{msg}"
        );
    }

    #[test]
    fn numbers_and_booleans_are_read_as_text_for_plain_keys() {
        let s = load("totp:\n  digits: 8\n  period: 30\n  issuer: true\n").unwrap();

        assert_eq!(s.text("totp.digits"), Some("8"));
        assert_eq!(s.text("totp.issuer"), Some("true"));
    }

    #[test]
    fn a_secret_that_yaml_reads_as_a_number_is_refused_with_its_position() {
        let err = load("storage:\n  local:\n    path: x\n  encryption_key: 1.50\n").unwrap_err();

        assert!(
            matches!(&err, ConfigError::SecretNotString { key, position: Some(p), .. }
                if key == "storage.encryption_key" && p.line == 4),
            "{err}"
        );
        assert!(!err.to_string().contains("1.5"), "{err}");
    }

    #[test]
    fn a_secret_with_a_custom_tag_is_refused() {
        let err = load("storage:\n  encryption_key: !vault 'abcdefghijklmnopqrstu'\n").unwrap_err();

        assert!(
            matches!(err, ConfigError::SecretNotString { position: Some(p), .. } if p.line == 2),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("tag") && !message.contains("abcdefghij"),
            "{message}"
        );
    }

    #[test]
    fn quoted_and_explicitly_tagged_strings_are_secrets_read_exactly() {
        let s = load("storage:\n  encryption_key: !!str 1.50\n").unwrap();

        assert_eq!(s.text("storage.encryption_key"), Some("1.50"));
    }

    #[test]
    fn a_key_set_twice_is_refused_naming_it() {
        let err = load("totp:\n  digits: 6\n  digits: 8\n").unwrap_err();

        assert!(
            matches!(&err, ConfigError::DuplicateKey { key, position: Some(p), .. }
                if key == "totp.digits" && p.line == 3),
            "{err}"
        );
    }

    #[test]
    fn anchors_and_aliases_are_followed() {
        let s = load("x: &issuer Example\ntotp:\n  issuer: *issuer\n").unwrap();

        assert_eq!(s.text("totp.issuer"), Some("Example"));
    }

    #[test]
    fn quoted_parts_of_parser_messages_are_hidden() {
        let cases = [
            (
                r#"invalid value: string "Hunter2-\"PW\\", expected an integer"#,
                "invalid value: string (value not shown), expected an integer",
            ),
            (
                "invalid type: integer `48213957201938475612` as u128",
                "invalid type: integer (value not shown) as u128",
            ),
            ("unclosed \"secret", "unclosed (value not shown)"),
            ("nothing quoted", "nothing quoted"),
        ];

        for (message, hidden) in cases {
            assert_eq!(hide_values(message), hidden);
        }
    }

    #[test]
    fn a_tag_that_fails_on_a_password_does_not_echo_it() {
        let err = load("storage:\n  encryption_key: !!int Hunter2-PW-xyzzy\n").unwrap_err();

        let msg = err.to_string();
        assert!(!msg.contains("Hunter2"), "{msg}");
        assert!(
            msg.starts_with("cannot parse 'test.yml' at line 2"),
            "{msg}"
        );
    }

    #[test]
    fn a_second_document_is_refused_saying_where_it_is() {
        let err = load("totp:\n  digits: 8\n---\ntotp:\n  digits: 6\n").unwrap_err();

        let msg = err.to_string();
        assert!(
            matches!(err, ConfigError::SeveralDocuments { position: Some(p), .. } if p.line == 4),
            "{msg}"
        );
        assert_eq!(
            msg,
            "cannot parse 'test.yml': it holds more than one YAML document (the second is at \
             line 4, column 1); keep one document per file"
        );
    }

    #[test]
    fn an_empty_second_document_is_refused_too() {
        let err = load("totp:\n  digits: 8\n...\n---\n").unwrap_err();

        assert!(matches!(err, ConfigError::SeveralDocuments { .. }), "{err}");
    }

    #[test]
    fn a_leading_document_marker_is_one_document() {
        let s = load("---\ntotp:\n  digits: 8\n").unwrap();

        assert_eq!(s.text("totp.digits"), Some("8"));
    }

    #[test]
    fn an_empty_file_sets_nothing() {
        let s = load("").unwrap();

        assert!(s.get("totp.digits").is_none());
    }

    #[test]
    fn a_tls_section_under_a_backend_is_refused() {
        let err =
            load("storage:\n  local:\n    path: x\n    tls:\n      server_name: db\n").unwrap_err();

        assert!(
            matches!(&err, ConfigError::TlsUnsupported { key, .. } if key == "storage.local.tls"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_tls_key_is_refused_too() {
        let err = load("storage:\n  local:\n    tls:\n").unwrap_err();

        assert!(matches!(err, ConfigError::TlsUnsupported { .. }), "{err}");
    }

    #[test]
    fn sections_of_backends_not_built_are_recorded() {
        let s = load("storage:\n  mysql:\n    address: db\n").unwrap();
        assert!(s.absent_sections_set.contains_key("mysql"));
    }
}
