//! `storage backends`: every compiled-in backend with the configuration section, flags,
//! configuration keys and environment variables it owns.

use crate::config::env_var_name;
use crate::error::Error;
use crate::registry::BackendDescriptor;

/// The listing as text.
pub fn list(backends: &[&'static BackendDescriptor]) -> String {
    if backends.is_empty() {
        let message = Error::NoBackendCompiled.to_string();
        let mut chars = message.chars();
        let first = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_default();
        return format!("{first}{}", chars.as_str());
    }
    let mut out =
        String::from("Storage backends in this binary; setting any option of one selects it.\n");
    for backend in backends {
        out.push_str(&format!("\n{}: {}\n", backend.name, backend.summary));
        out.push_str(&format!(
            "  configuration section: storage.{}\n",
            backend.section
        ));
        for option in backend.options {
            let key = backend.config_key(option);
            let flag = if option.flag {
                format!("--{}", backend.flag_name(option))
            } else {
                "(no flag)".into()
            };
            let default = option
                .default
                .map(|d| format!(" [default: {d}]"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {flag:<24} {key:<28} {}{}{default}\n",
                env_var_name(&key),
                if option.secret { " (or _FILE)" } else { "" },
            ));
        }
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::OptionSpec;
    use crate::store::StoreError;

    const OPTIONS: &[OptionSpec] = &[
        OptionSpec {
            key: "path",
            help: "",
            value_name: "string",
            default: None,
            secret: false,
            flag: true,
        },
        OptionSpec {
            key: "password",
            help: "",
            value_name: "string",
            default: Some("none"),
            secret: true,
            flag: false,
        },
    ];

    static EXAMPLE: BackendDescriptor =
        BackendDescriptor::new("example", "ex", "example", "an example", OPTIONS, |_| {
            Box::pin(async { Err(StoreError::Closed("example")) })
        });

    #[test]
    fn lists_section_flags_keys_and_variables() {
        let text = list(&[&EXAMPLE]);

        assert!(text.contains("\nexample: an example\n  configuration section: storage.ex\n"));
        let path = text
            .lines()
            .find(|l| l.contains("--example.path"))
            .expect("flag line");
        assert!(path.contains("storage.ex.path") && path.contains("TOTPSTORE_STORAGE_EX_PATH"));
        let password = text
            .lines()
            .find(|l| l.contains("storage.ex.password"))
            .expect("key");
        assert!(password.contains("(no flag)") && password.contains("(or _FILE)"));
        assert!(password.contains("[default: none]"));
    }

    #[test]
    fn an_empty_build_says_so_and_how_to_fix_it() {
        let text = list(&[]);

        assert!(
            text.starts_with("No storage backend was compiled into this binary"),
            "{text}"
        );
        assert!(text.contains("cargo features"), "{text}");
    }
}
