//! `storage backends`: every compiled-in backend with the flags, configuration keys and
//! environment variables it owns.

use crate::config::env_var_name;
use crate::registry::BackendDescriptor;

/// The listing as text.
pub fn list(backends: &[&'static BackendDescriptor]) -> String {
    if backends.is_empty() {
        return "No storage backend is compiled into this binary.".into();
    }
    let mut out = String::new();
    for backend in backends {
        out.push_str(&format!("{}: {}\n", backend.name, backend.summary));
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
