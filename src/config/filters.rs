//! Filters applied to a configuration file's text before it is parsed
//! (`--config.experimental.filters`), in the order given.
//!
//! - `expand-env` replaces `${NAME}` and `$NAME` with the variable's value; `$$` is a literal
//!   `$`. An unset variable is an error, so a typo never becomes an empty password.
//! - `template` evaluates `{{ env "NAME" }}`, `{{ mustEnv "NAME" }}` and `{{ secret "/path" }}`,
//!   each optionally piped through `squote` or `quote` to make a safe YAML string.

use std::path::Path;

use super::{read_text, trim_one_newline, ConfigError};

/// One text filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Environment variable expansion.
    ExpandEnv,
    /// The small template language.
    Template,
}

impl std::str::FromStr for Filter {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "expand-env" => Ok(Self::ExpandEnv),
            "template" => Ok(Self::Template),
            other => Err(ConfigError::UnknownFilter(other.into())),
        }
    }
}

/// Applies `filters` in order to the text of `file`.
pub(crate) fn apply_filters(
    filters: &[Filter],
    file: &Path,
    text: &str,
) -> Result<String, ConfigError> {
    let mut text = text.to_owned();
    for filter in filters {
        text = match filter {
            Filter::ExpandEnv => expand_env(file, &text, &env_lookup)?,
            Filter::Template => template(file, &text, &env_lookup)?,
        };
    }
    Ok(text)
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn filter_error(file: &Path, text: &str, offset: usize, reason: String) -> ConfigError {
    let line = text[..offset].matches('\n').count() + 1;
    ConfigError::Filter {
        path: file.into(),
        line,
        reason,
    }
}

fn expand_env(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let offset = text.len() - rest.len() + i;
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => {
                    let reason = "'${' without a closing '}'".into();
                    return Err(filter_error(file, text, offset, reason));
                }
            }
        } else if let Some(escaped) = after.strip_prefix('$') {
            out.push('$');
            rest = escaped;
            continue;
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if !is_var_name(name) {
            // A lone `$` or `$` before punctuation is ordinary text.
            out.push('$');
            rest = after;
            continue;
        }
        match env(name) {
            Some(value) => out.push_str(&value),
            None => {
                let reason = format!("environment variable {name} is not set");
                return Err(filter_error(file, text, offset, reason));
            }
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn template(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let offset = text.len() - rest.len() + start;
        let Some(len) = rest[start..].find("}}") else {
            return Err(filter_error(
                file,
                text,
                offset,
                "'{{' without a closing '}}'".into(),
            ));
        };
        let action = &rest[start + 2..start + len];
        let value = evaluate(action, env).map_err(|r| filter_error(file, text, offset, r))?;
        out.push_str(&value);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Evaluates `func "arg" [| squote | quote]...`.
fn evaluate(action: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut stages = action.split('|').map(str::trim);
    let call = stages.next().unwrap_or_default();
    let (func, arg) = call.split_once(char::is_whitespace).unwrap_or((call, ""));
    let arg = arg.trim();
    let arg = arg
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .filter(|a| !a.contains('"'))
        .ok_or_else(|| format!("template function '{func}' takes one double-quoted argument"))?;

    let mut value = match func {
        "env" => env(arg).unwrap_or_default(),
        "mustEnv" => env(arg).ok_or_else(|| format!("environment variable {arg} is not set"))?,
        "secret" => read_text(Path::new(arg))
            .map(|t| trim_one_newline(&t).to_owned())
            .map_err(|e| format!("cannot read secret file '{arg}': {e}"))?,
        other => {
            return Err(format!(
                "unknown template function '{other}', known ones are env, mustEnv and secret"
            ))
        }
    };
    for stage in stages {
        value = match stage {
            "squote" => squote(&value),
            "quote" => quote(&value),
            other => {
                return Err(format!(
                    "unknown template pipe '{other}', use squote or quote"
                ))
            }
        };
    }
    Ok(value)
}

/// A YAML single-quoted string when that form can carry `value` unchanged, else the
/// double-quoted one: a single-quoted scalar folds a line break into a space and cannot
/// escape anything but `'`.
fn squote(value: &str) -> String {
    if value.chars().any(needs_escape) {
        return quote(value);
    }
    format!("'{}'", value.replace('\'', "''"))
}

/// Characters that must be escaped in YAML: line breaks (YAML 1.1, which serde_yaml's parser
/// follows, also counts NEL, LS and PS), other controls except tab, a byte order mark, and
/// the non-characters outside YAML's printable set.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// A YAML double-quoted string.
fn quote(value: &str) -> String {
    let mut out = String::from('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "DB_HOST" => Some("db.internal".into()),
            "TRICKY" => Some("it's \"x\"\\".into()),
            _ => None,
        }
    }

    #[test]
    fn expand_env_replaces_both_forms_and_keeps_dollar_escapes() {
        let f = Path::new("c.yml");
        let out = expand_env(f, "a: ${DB_HOST}:$DB_HOST $$HOME $ 5$", &env).unwrap();
        assert_eq!(out, "a: db.internal:db.internal $HOME $ 5$");
    }

    #[test]
    fn expand_env_refuses_unset_variables_naming_them_and_the_line() {
        let err = expand_env(Path::new("c.yml"), "a: 1\nb: ${NOPE}\n", &env).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("NOPE") && msg.contains("line 2") && msg.contains("c.yml"),
            "{msg}"
        );
    }

    #[test]
    fn template_functions_and_pipes() {
        let f = Path::new("c.yml");
        assert_eq!(
            template(f, "h: {{ env \"DB_HOST\" }}", &env).unwrap(),
            "h: db.internal"
        );
        assert_eq!(template(f, "h: {{ env \"NOPE\" }}", &env).unwrap(), "h: ");
        assert_eq!(
            template(f, "p: {{ env \"TRICKY\" | squote }}", &env).unwrap(),
            "p: 'it''s \"x\"\\'"
        );
        assert_eq!(
            template(f, "p: {{ env \"TRICKY\" | quote }}", &env).unwrap(),
            "p: \"it's \\\"x\\\"\\\\\""
        );
        assert!(template(f, "{{ mustEnv \"NOPE\" }}", &env).is_err());
    }

    #[test]
    fn quoted_values_parse_back_to_the_original() {
        let f = Path::new("c.yml");
        for pipe in ["squote", "quote"] {
            let yaml = template(f, &format!("p: {{{{ env \"TRICKY\" | {pipe} }}}}"), &env).unwrap();
            let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
            assert_eq!(parsed["p"].as_str(), env("TRICKY").as_deref(), "{pipe}");
        }
    }

    #[test]
    fn quoted_values_of_any_content_parse_back_exactly() {
        let values = [
            "line one\nline two",
            "trailing newline\n",
            "\nleading newline",
            "two\n\nbreaks",
            "crlf\r\nend",
            "it's \"quoted\"",
            "back\\slash \\n not a newline",
            "tab\there",
            "\ttab first",
            "# not a comment",
            "key: value",
            "a: b # c",
            "  leading and trailing spaces  ",
            " ",
            "",
            "\u{7}bell and \u{7f}delete",
            "nel\u{85}ls\u{2028}ps\u{2029}end",
            "bom\u{feff}inside",
            "ünïcödé and emoji \u{1F600}",
            "- dash",
            "{flow}, [list] & *alias !tag %directive @at `tick`",
            "null",
            "123",
            "'",
            "''",
        ];
        let f = Path::new("c.yml");

        for value in values {
            let env = |name: &str| (name == "V").then(|| value.to_owned());
            for pipe in ["squote", "quote"] {
                let yaml =
                    template(f, &format!("p: {{{{ env \"V\" | {pipe} }}}}\n"), &env).unwrap();
                let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml)
                    .unwrap_or_else(|e| panic!("{pipe} of {value:?} gives {yaml:?}: {e}"));
                assert_eq!(parsed["p"].as_str(), Some(value), "{pipe} gives {yaml:?}");
            }
        }
    }

    #[test]
    fn squote_keeps_the_single_quoted_form_when_it_can() {
        let env = |_: &str| Some("it's plain".to_owned());

        let yaml = template(Path::new("c.yml"), "p: {{ env \"V\" | squote }}", &env).unwrap();

        assert_eq!(yaml, "p: 'it''s plain'");
    }

    #[test]
    fn template_secret_reads_a_file_without_its_trailing_newline() {
        let path = std::env::temp_dir().join(format!("totpstore-tpl-{}", std::process::id()));
        std::fs::write(&path, "s3cr3t\n").unwrap();
        let input = format!("k: {{{{ secret \"{}\" | squote }}}}", path.display());
        assert_eq!(
            template(Path::new("c.yml"), &input, &env).unwrap(),
            "k: 's3cr3t'"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn unknown_template_function_names_file_and_line() {
        let err = template(Path::new("c.yml"), "a: 1\n\nb: {{ shell \"ls\" }}", &env).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("shell") && msg.contains("line 3") && msg.contains("c.yml"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_filter_names_the_known_ones() {
        let err = "yaml-magic".parse::<Filter>().unwrap_err().to_string();
        assert!(
            err.contains("yaml-magic") && err.contains("expand-env") && err.contains("template")
        );
    }
}
