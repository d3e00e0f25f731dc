//! Configuration of `generate` (DESIGN.md section 3): files and folders, the default
//! configuration.yml, TOTPSTORE_CONFIG, precedence flag > environment > file > default,
//! `_FILE` variables, unknown keys, an Authelia configuration, YAML errors, and filters.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

const GENERATE: [&str; 5] = ["storage", "user", "totp", "generate", "john"];

/// A configuration holding the key and this sandbox's database, plus `extra` YAML lines under
/// a `totp:` section (if any).
fn base_config(sandbox: &Sandbox, totp: &str) -> String {
    let mut yaml = format!(
        "storage:\n  encryption_key: '{KEY}'\n  local:\n    path: '{}'\n",
        sandbox.db_arg()
    );
    if !totp.is_empty() {
        yaml.push_str("totp:\n");
        for line in totp.lines() {
            yaml.push_str(&format!("  {line}\n"));
        }
    }
    yaml
}

/// `generate john` followed by `args`, with `env`.
fn generate(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all: Vec<&str> = GENERATE.to_vec();
    all.extend(args);
    sandbox.run_env(&all, env)
}

/// The URI printed for john without its secret.
fn head(run: &Run) -> String {
    let uri = run.uri("john");
    split_secret(&uri).0.to_owned()
}

fn uri_head(issuer: &str, algorithm: &str, digits: u32, period: u32) -> String {
    format!(
        "otpauth://totp/{issuer}:john?algorithm={algorithm}&digits={digits}&issuer={issuer}\
         &period={period}"
    )
}

#[test]
fn the_default_configuration_yml_in_the_working_directory_is_used() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        &base_config(&sandbox, "issuer: FromFile"),
    );

    let run = generate(&sandbox, &[], &[]);

    assert_eq!(head(&run), uri_head("FromFile", "SHA1", 6, 30));
    assert_eq!(run.stderr, "");
    assert_eq!(sandbox.rows().len(), 1);
}

#[test]
fn relative_paths_in_a_file_are_relative_to_the_working_directory() {
    let sandbox = Sandbox::new();
    let config = format!("storage:\n  encryption_key: '{KEY}'\n  local:\n    path: '{DB}'\n");
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &[], &[]);

    run.quiet_uri("john");
    assert_eq!(sandbox.rows().len(), 1);
}

#[test]
fn a_missing_default_configuration_yml_is_skipped_silently() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &[]);

    run.quiet_uri("john");
    assert!(!sandbox.join("configuration.yml").exists());
}

#[test]
fn an_explicitly_named_missing_file_is_an_error() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["-c", "missing.yml"]);

    run.error_with(&["missing.yml", "does not exist"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn naming_the_default_file_explicitly_makes_it_required() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--config", "configuration.yml"]);

    run.error_with(&["configuration.yml", "does not exist"]);
}

#[test]
fn an_explicitly_named_missing_folder_is_an_error() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["-c", "conf.d"]);

    run.error_with(&["conf.d", "does not exist"]);
}

#[test]
fn totpstore_config_names_the_files_to_load() {
    let sandbox = Sandbox::new();
    sandbox.write("one.yml", &base_config(&sandbox, "issuer: One"));
    sandbox.write("two.yml", "totp:\n  digits: 8\n");

    let run = generate(&sandbox, &[], &[("TOTPSTORE_CONFIG", "one.yml,two.yml")]);

    assert_eq!(head(&run), uri_head("One", "SHA1", 8, 30));
}

#[test]
fn a_missing_file_in_totpstore_config_is_an_error() {
    let sandbox = Sandbox::new();

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg(), "--encryption-key", KEY],
        &[("TOTPSTORE_CONFIG", "absent.yml")],
    );

    run.error_with(&["absent.yml", "does not exist"]);
}

#[test]
fn the_config_flag_replaces_totpstore_config() {
    let sandbox = Sandbox::new();
    sandbox.write("flag.yml", &base_config(&sandbox, "issuer: Flag"));

    let run = generate(
        &sandbox,
        &["-c", "flag.yml"],
        &[("TOTPSTORE_CONFIG", "absent.yml")],
    );

    assert_eq!(head(&run), uri_head("Flag", "SHA1", 6, 30));
}

#[test]
fn config_is_repeatable_and_comma_separated_and_later_files_win() {
    let sandbox = Sandbox::new();
    sandbox.write("a.yml", &base_config(&sandbox, "issuer: A\nperiod: 60"));
    sandbox.write("b.yml", "totp:\n  issuer: B\n  algorithm: SHA256\n");
    sandbox.write("c.yml", "totp:\n  issuer: C\n  digits: 8\n");

    let run = generate(&sandbox, &["-c", "a.yml", "-c", "b.yml,c.yml"], &[]);

    assert_eq!(head(&run), uri_head("C", "SHA256", 8, 60));
}

#[test]
fn the_order_of_the_files_given_decides_not_their_names() {
    let sandbox = Sandbox::new();
    sandbox.write("a.yml", &base_config(&sandbox, "issuer: A"));
    sandbox.write("b.yml", "totp:\n  issuer: B\n");

    let run = generate(&sandbox, &["-c", "b.yml,a.yml"], &[]);

    assert_eq!(head(&run), uri_head("A", "SHA1", 6, 30));
}

#[test]
fn a_folder_loads_its_yml_and_yaml_files_in_name_order() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "conf.d/20-override.yaml",
        "totp:\n  issuer: Second\n  digits: 8\n",
    );
    sandbox.write("conf.d/30-last.yml", "totp:\n  issuer: Third\n");
    sandbox.write(
        "conf.d/10-base.yml",
        &base_config(&sandbox, "issuer: First"),
    );
    sandbox.write("conf.d/40-notes.txt", "this: [is not yaml\n");
    sandbox.write("conf.d/50-data.json", "{\"totp\": {\"issuer\": \"Json\"}}");
    sandbox.write("conf.d/60-backup.yml.bak", "totp:\n  issuer: Backup\n");

    let run = generate(&sandbox, &["-c", "conf.d"], &[]);

    assert_eq!(head(&run), uri_head("Third", "SHA1", 8, 30));
    assert_eq!(run.stderr, "");
}

#[test]
fn files_and_folders_mix_in_the_order_given() {
    let sandbox = Sandbox::new();
    sandbox.write("conf.d/a.yml", &base_config(&sandbox, "issuer: Folder"));
    sandbox.write("last.yml", "totp:\n  issuer: File\n");

    let run = generate(&sandbox, &["-c", "conf.d,last.yml"], &[]);

    assert_eq!(head(&run), uri_head("File", "SHA1", 6, 30));
}

#[test]
fn file_values_are_used_when_no_flag_is_typed() {
    let sandbox = Sandbox::new();
    let totp = "issuer: Example\nalgorithm: sha512\ndigits: 8\nperiod: 60\nsecret_size: 20";
    sandbox.write("configuration.yml", &base_config(&sandbox, totp));

    let run = generate(&sandbox, &[], &[]);

    assert_eq!(head(&run), uri_head("Example", "SHA512", 8, 60));
    assert_eq!(secret_bytes(&run.uri("john")).len(), 20);
}

#[test]
fn a_typed_flag_overrides_the_file_even_when_equal_to_the_default() {
    let sandbox = Sandbox::new();
    let totp = "issuer: Example\nalgorithm: SHA512\ndigits: 8\nperiod: 60\nsecret_size: 20";
    sandbox.write("configuration.yml", &base_config(&sandbox, totp));

    let run = generate(
        &sandbox,
        &[
            "--issuer",
            "Authelia",
            "--algorithm",
            "SHA1",
            "--digits",
            "6",
            "--period",
            "30",
            "--secret-size",
            "32",
        ],
        &[],
    );

    assert_eq!(head(&run), uri_head("Authelia", "SHA1", 6, 30));
    assert_eq!(secret_bytes(&run.uri("john")).len(), 32);
}

#[test]
fn the_environment_overrides_files_and_flags_override_the_environment() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        &base_config(&sandbox, "issuer: File\ndigits: 8\nperiod: 60"),
    );
    let env = [
        ("TOTPSTORE_TOTP_ISSUER", "Env"),
        ("TOTPSTORE_TOTP_DIGITS", "6"),
    ];

    let from_env = generate(&sandbox, &["--force"], &env);
    let from_flag = generate(&sandbox, &["--force", "--issuer", "Flag"], &env);

    assert_eq!(head(&from_env), uri_head("Env", "SHA1", 6, 60));
    assert_eq!(head(&from_flag), uri_head("Flag", "SHA1", 6, 60));
}

#[test]
fn the_sqlite_path_flag_overrides_the_file() {
    let sandbox = Sandbox::new();
    let other = sandbox.join("other.sqlite3");
    let config = format!(
        "storage:\n  encryption_key: '{KEY}'\n  local:\n    path: '{}'\n",
        other.display()
    );
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &["--sqlite.path", &sandbox.db_arg()], &[]);

    run.quiet_uri("john");
    assert_eq!(sandbox.rows().len(), 1);
    assert!(!other.exists());
}

#[test]
fn the_sqlite_path_variable_overrides_the_file() {
    let sandbox = Sandbox::new();
    let config = format!("storage:\n  encryption_key: '{KEY}'\n  local:\n    path: 'file.db'\n");
    sandbox.write("configuration.yml", &config);
    let db = sandbox.db_arg();

    let run = generate(&sandbox, &[], &[("TOTPSTORE_STORAGE_LOCAL_PATH", &db)]);

    run.quiet_uri("john");
    assert_eq!(sandbox.rows().len(), 1);
    assert!(!sandbox.join("file.db").exists());
}

#[test]
fn the_encryption_key_comes_from_the_environment() {
    let sandbox = Sandbox::new();

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[("TOTPSTORE_STORAGE_ENCRYPTION_KEY", KEY)],
    );

    run.quiet_uri("john");
    assert!(load_totp(&sandbox.db(), KEY, "john").unwrap().is_some());
}

#[test]
fn the_environment_key_overrides_the_file_key() {
    let sandbox = Sandbox::new().seeded();
    let config = format!(
        "storage:\n  encryption_key: 'a-wrong-key-from-the-file-xyz'\n  local:\n    path: '{}'\n",
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &[], &[("TOTPSTORE_STORAGE_ENCRYPTION_KEY", KEY)]);

    run.quiet_uri("john");
}

#[test]
fn the_key_file_variable_drops_one_trailing_new_line() {
    let sandbox = Sandbox::new();
    let lf = sandbox.write("key-lf", &format!("{KEY}\n"));
    let crlf = sandbox.write("key-crlf", &format!("{KEY}\r\n"));
    let db = sandbox.db_arg();

    let first = generate(
        &sandbox,
        &["--sqlite.path", &db],
        &[(
            "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
            lf.to_str().unwrap(),
        )],
    );
    let second = sandbox.generate("jane", &[]);
    let third = sandbox.run_env(
        &[
            "storage",
            "user",
            "totp",
            "generate",
            "jim",
            "--sqlite.path",
            &db,
        ],
        &[(
            "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
            crlf.to_str().unwrap(),
        )],
    );

    first.quiet_uri("john");
    second.quiet_uri("jane");
    third.quiet_uri("jim");
}

#[test]
fn the_key_file_variable_drops_only_one_new_line() {
    let sandbox = Sandbox::new().seeded();
    let key_file = sandbox.write("key", &format!("{KEY}\n\n"));

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[(
            "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
            key_file.to_str().unwrap(),
        )],
    );

    run.error_with(&["encryption key does not match"]);
    run.assert_not_echoed(KEY);
}

#[test]
fn a_key_file_over_64_kib_is_refused_naming_it() {
    let sandbox = Sandbox::new();
    let key_file = sandbox.write("big-key", &"k".repeat(64 * 1024 + 1));

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[(
            "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
            key_file.to_str().unwrap(),
        )],
    );

    run.error_with(&["TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE", "big-key", "64 KiB"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_key_file_of_exactly_64_kib_is_read() {
    let sandbox = Sandbox::new();
    let key = "k".repeat(64 * 1024);
    let key_file = sandbox.write("big-key", &key);

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[(
            "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
            key_file.to_str().unwrap(),
        )],
    );

    run.quiet_uri("john");
    assert!(load_totp(&sandbox.db(), &key, "john").unwrap().is_some());
}

#[test]
fn a_key_file_variable_naming_dev_zero_is_refused() {
    let sandbox = Sandbox::new();

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[("TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE", "/dev/zero")],
    );

    run.error_with(&[
        "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
        "/dev/zero",
        "64 KiB",
    ]);
}

#[test]
fn a_configuration_file_over_1_mib_is_refused_naming_it() {
    let sandbox = Sandbox::new();
    let padding = format!("# {}\n", "x".repeat(1024 * 1024));
    sandbox.write("big.yml", &(base_config(&sandbox, "") + &padding));

    let run = generate(&sandbox, &["-c", "big.yml"], &[]);

    run.error_with(&["big.yml", "1 MiB"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn dev_zero_as_a_configuration_file_is_refused() {
    let sandbox = Sandbox::new();

    let run = generate(&sandbox, &["-c", "/dev/zero"], &[]);

    run.error_with(&["/dev/zero", "1 MiB"]);
}

#[test]
fn a_template_secret_file_over_64_kib_is_refused_naming_it() {
    let sandbox = Sandbox::new();
    let big = sandbox.write("secrets/big", &"k".repeat(64 * 1024 + 1));
    let yaml = format!(
        "storage:\n  encryption_key: {{{{ secret \"{}\" | squote }}}}\n  local:\n    path: \
         '{}'\n",
        big.display(),
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "template"],
        &[],
    );

    run.error_with(&["secrets/big", "64 KiB", "configuration.yml"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_variable_and_its_file_variant_together_are_an_error() {
    let sandbox = Sandbox::new();
    let key_file = sandbox.write("key", KEY);

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[
            ("TOTPSTORE_STORAGE_ENCRYPTION_KEY", KEY),
            (
                "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
                key_file.to_str().unwrap(),
            ),
        ],
    );

    run.error_with(&[
        "TOTPSTORE_STORAGE_ENCRYPTION_KEY",
        "TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE",
    ]);
    run.assert_not_echoed(KEY);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_file_variable_naming_a_missing_file_is_an_error() {
    let sandbox = Sandbox::new();

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg()],
        &[("TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE", "no-such-key-file")],
    );

    run.error_with(&["TOTPSTORE_STORAGE_ENCRYPTION_KEY_FILE", "no-such-key-file"]);
}

#[test]
fn a_bad_value_from_a_file_names_the_key_and_the_file() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.yml", &base_config(&sandbox, "digits: 7"));

    let run = generate(&sandbox, &["-c", "bad.yml"], &[]);

    run.error_with(&["totp.digits", "bad.yml", "6 or 8"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let sandbox = Sandbox::new();

    let run = generate(
        &sandbox,
        &["--sqlite.path", &sandbox.db_arg(), "--encryption-key", KEY],
        &[("TOTPSTORE_TOTP_PERIOD", "5")],
    );

    run.error_with(&["TOTPSTORE_TOTP_PERIOD", "15"]);
}

#[test]
fn a_list_where_a_value_belongs_is_an_error_naming_the_key() {
    let sandbox = Sandbox::new();
    sandbox.write("list.yml", &base_config(&sandbox, "issuer: [a, b]"));

    let run = generate(&sandbox, &["-c", "list.yml"], &[]);

    run.error_with(&["list.yml", "totp.issuer"]);
}

#[test]
fn unknown_keys_in_storage_and_totp_are_warned_about_by_name() {
    let sandbox = Sandbox::new();
    let yaml = format!(
        "storage:\n  encryption_key: '{KEY}'\n  colour: blue\n  local:\n    path: '{}'\n    \
         pth: 'typo.sqlite3'\ntotp:\n  skew: 1\n  issuer: Example\n",
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &yaml);

    let run = generate(&sandbox, &[], &[]);

    assert_eq!(head(&run), uri_head("Example", "SHA1", 6, 30));
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for (warning, key) in warnings
        .iter()
        .zip(["storage.colour", "storage.local.pth", "totp.skew"])
    {
        assert!(warning.contains(&format!("'{key}'")), "{key}: {warning}");
        assert!(warning.contains("configuration.yml"), "{warning}");
    }
    assert!(!sandbox.join("typo.sqlite3").exists());
}

#[test]
fn unknown_top_level_sections_are_ignored_silently() {
    let sandbox = Sandbox::new();
    let mut yaml = base_config(&sandbox, "");
    yaml.push_str("server:\n  address: 'tcp://:9091'\nwebauthn:\n  disable: true\n");
    sandbox.write("configuration.yml", &yaml);

    let run = generate(&sandbox, &[], &[]);

    run.quiet_uri("john");
}

/// An Authelia 4.38 configuration in the shape of its documented template.
const AUTHELIA: &str = r#"---
theme: 'auto'
default_2fa_method: 'totp'
server:
  address: 'tcp://:9091/'
  buffers:
    read: 4096
    write: 4096
  timeouts:
    read: '6s'
    write: '6s'
    idle: '30s'
  endpoints:
    enable_pprof: false
    authz:
      forward-auth:
        implementation: 'ForwardAuth'
log:
  level: 'info'
  format: 'text'
telemetry:
  metrics:
    enabled: false
    address: 'tcp://:9959/metrics'
totp:
  disable: false
  issuer: 'example.com'
  algorithm: 'sha1'
  digits: 6
  period: 30
  skew: 1
  secret_size: 32
  allowed_algorithms:
    - 'SHA1'
  allowed_digits:
    - 6
  allowed_periods:
    - 30
  disable_reuse_security_policy: false
webauthn:
  disable: false
  display_name: 'Authelia'
  attestation_conveyance_preference: 'indirect'
  timeout: '60s'
identity_validation:
  reset_password:
    jwt_lifespan: '5 minutes'
    jwt_algorithm: 'HS256'
    jwt_secret: 'a_very_important_secret'
authentication_backend:
  password_reset:
    disable: false
  refresh_interval: '5m'
  file:
    path: '/config/users_database.yml'
    watch: false
    password:
      algorithm: 'argon2'
      argon2:
        variant: 'argon2id'
        iterations: 3
        memory: 65536
        parallelism: 4
        key_length: 32
        salt_length: 16
password_policy:
  standard:
    enabled: false
    min_length: 8
access_control:
  default_policy: 'deny'
  networks:
    - name: 'internal'
      networks:
        - '10.10.0.0/16'
        - '192.168.2.0/24'
  rules:
    - domain: 'public.example.com'
      policy: 'bypass'
    - domain: '*.example.com'
      policy: 'one_factor'
    - domain:
        - 'secure.example.com'
        - 'private.example.com'
      policy: 'two_factor'
      subject:
        - ['group:admins', 'user:john']
session:
  secret: 'insecure_session_secret'
  name: 'authelia_session'
  same_site: 'lax'
  inactivity: '5m'
  expiration: '1h'
  remember_me: '1M'
  cookies:
    - domain: 'example.com'
      authelia_url: 'https://auth.example.com'
      default_redirection_url: 'https://www.example.com'
  redis:
    host: '127.0.0.1'
    port: 6379
    database_index: 0
regulation:
  max_retries: 3
  find_time: '2m'
  ban_time: '5m'
storage:
  encryption_key: 'e2e-test-encryption-key-0123456789'
  local:
    path: 'totp.sqlite3'
notifier:
  disable_startup_check: false
  smtp:
    address: 'submission://127.0.0.1:587'
    timeout: '5s'
    username: 'test'
    password: 'password'
    sender: 'Authelia <admin@example.com>'
    subject: '[Authelia] {title}'
    tls:
      skip_verify: false
      minimum_version: 'TLS1.2'
identity_providers:
  oidc:
    hmac_secret: 'this_is_a_secret_abc123abc123abc'
    jwks:
      - key_id: 'example'
        algorithm: 'RS256'
        use: 'sig'
        key: |
          -----BEGIN PRIVATE KEY-----
          MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC
          -----END PRIVATE KEY-----
    clients:
      - client_id: 'myapp'
        client_name: 'My Application'
        client_secret: '$pbkdf2-sha512$310000$c8p78n7pUMln0jzvd4aK4Q$JNRBzwAo0ek5qKn50cFzzvE9RXV88'
        public: false
        authorization_policy: 'two_factor'
        redirect_uris:
          - 'https://oidc.example.com:8080/oauth2/callback'
        scopes:
          - 'openid'
          - 'groups'
ntp:
  address: 'udp://time.cloudflare.com:123'
  version: 4
  max_desync: '3s'
  disable_startup_check: false
"#;

#[test]
fn an_authelia_configuration_yml_loads() {
    let sandbox = Sandbox::new();
    sandbox.write("configuration.yml", AUTHELIA);

    let run = generate(&sandbox, &[], &[]);

    let uri = run.uri("john");
    assert_eq!(split_secret(&uri).0, uri_head("example.com", "SHA1", 6, 30));
    assert_eq!(secret_bytes(&uri).len(), 32);
    for warning in run.warnings() {
        assert!(
            warning.contains("'totp.") || warning.contains("'storage."),
            "only keys of storage and totp may be warned about: {warning}"
        );
    }
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn a_yaml_error_names_the_file_line_and_column() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.yml", "totp:\n  issuer: a\n   digits: 8\n");

    let run = sandbox.generate("john", &["-c", "bad.yml"]);

    // Line 3 is "   digits: 8"; its ':' (column 10) is where a mapping value is not allowed.
    let message = run.error();
    assert!(
        message.starts_with("cannot parse 'bad.yml' at line 3, column 10"),
        "{message}"
    );
    assert!(!sandbox.db().exists());
}

#[test]
fn a_yaml_error_on_an_unquoted_numeric_key_does_not_echo_the_key() {
    let sandbox = Sandbox::new();
    let digits = "48213957201938475612";
    let config = format!(
        "storage:\n  encryption_key: {digits}\n  local:\n    path: '{}'\n",
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &[], &[]);

    let message = run.error_with(&["configuration.yml", "line 2", "storage.encryption_key"]);
    assert!(!message.contains(digits), "the key is echoed: {message}");
    run.assert_not_echoed(digits);
    assert!(!sandbox.db().exists());
}

/// Runs generate on a configuration whose line 2 is `  <key>: <value>` under `storage`, and
/// checks the refusal names the key, the file and the line, asks for quotes and never shows
/// the value.
fn assert_unquoted_secret_refused(key_line: &str, key: &str, value: &str) {
    let sandbox = Sandbox::new();
    let config = format!(
        "storage:\n  {key_line}\n  local:\n    path: '{}'\n",
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &["--encryption-key", KEY], &[]);

    run.error_with(&["configuration.yml", "line 2", key, "quotes"]);
    run.assert_not_echoed(value);
    assert!(!sandbox.db().exists());
}

#[test]
fn an_unquoted_decimal_key_is_refused_rather_than_rounded() {
    assert_unquoted_secret_refused(
        "encryption_key: 12345678901234567890.5",
        "storage.encryption_key",
        "12345678901234567890",
    );
}

#[test]
fn an_unquoted_key_with_a_plus_sign_is_refused() {
    assert_unquoted_secret_refused(
        "encryption_key: +123456789012345678",
        "storage.encryption_key",
        "123456789012345678",
    );
}

#[test]
fn an_unquoted_hexadecimal_key_is_refused() {
    assert_unquoted_secret_refused(
        "encryption_key: 0x1234abcd",
        "storage.encryption_key",
        "1234abcd",
    );
}

#[test]
fn an_unquoted_key_with_many_decimals_is_refused() {
    assert_unquoted_secret_refused(
        "encryption_key: 1.0000000000000000000001",
        "storage.encryption_key",
        "0000000000000000000001",
    );
}

#[test]
fn an_unquoted_boolean_key_is_refused() {
    assert_unquoted_secret_refused("encryption_key: true", "storage.encryption_key", "true");
}

#[test]
fn an_unquoted_numeric_backend_password_is_refused() {
    assert_unquoted_secret_refused(
        "mysql: {password: 31415926535897}",
        "storage.mysql.password",
        "31415926535897",
    );
}

#[test]
fn a_quoted_numeric_key_is_read_exactly() {
    let sandbox = Sandbox::new();
    let key = "12345678901234567890.5";
    let config = format!(
        "storage:\n  encryption_key: '{key}'\n  local:\n    path: '{}'\ntotp:\n  digits: 8\n",
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &[], &[]);

    assert_eq!(head(&run), uri_head("Authelia", "SHA1", 8, 30));
    assert!(load_totp(&sandbox.db(), key, "john").unwrap().is_some());
}

/// A `!!int` or `!!float` tag on a text value fails in the YAML parser itself, whose message
/// used to quote the value.
fn assert_tagged_secret_not_echoed(key_line: &str, line: &str, value: &str) {
    let sandbox = Sandbox::new();
    let config = format!(
        "storage:\n  {key_line}\n  local:\n    path: '{}'\n",
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &config);

    let run = generate(&sandbox, &["--encryption-key", KEY], &[]);

    run.error_with(&["configuration.yml", line]);
    run.assert_not_echoed(value);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_password_with_an_int_tag_is_not_echoed() {
    assert_tagged_secret_not_echoed(
        "mysql:\n    password: !!int Hunter2-PW-xyzzy",
        "line 3",
        "Hunter2-PW-xyzzy",
    );
}

#[test]
fn a_key_with_an_int_tag_is_not_echoed() {
    assert_tagged_secret_not_echoed(
        "encryption_key: !!int Hunter2-PW-xyzzy-0123456789",
        "line 2",
        "Hunter2-PW-xyzzy",
    );
}

#[test]
fn a_key_with_a_float_tag_is_not_echoed() {
    assert_tagged_secret_not_echoed(
        "encryption_key: !!float Hunter2-PW-xyzzy-0123456789",
        "line 2",
        "Hunter2-PW-xyzzy",
    );
}

#[test]
fn a_file_with_two_yaml_documents_is_refused_saying_where_the_second_is() {
    let sandbox = Sandbox::new();
    let yaml = format!("{}---\ntotp:\n  digits: 8\n", base_config(&sandbox, ""));
    sandbox.write("two.yml", &yaml);

    let run = generate(&sandbox, &["-c", "two.yml"], &[]);

    let message = run.error_with(&["two.yml", "more than one YAML document", "line 6"]);
    assert!(!message.contains("line 0"), "{message}");
    assert!(!sandbox.db().exists());
}

/// Runs generate on `yaml` (plus the key) and checks that a `tls` section is refused before
/// any connection, saying that the connection would not be encrypted.
fn assert_tls_refused(sandbox: &Sandbox, yaml: &str, env: &[(&str, &str)], key: &str) {
    sandbox.write("configuration.yml", yaml);

    let run = generate(sandbox, &["--encryption-key", KEY], env);

    run.error_with(&[key, "TLS is not supported", "would not be encrypted"]);
    assert!(!sandbox.db().exists());
}

#[cfg(feature = "mysql")]
#[test]
fn a_mysql_tls_section_is_refused_not_ignored() {
    let sandbox = Sandbox::new();
    let socket = sandbox.join("no.sock");
    let yaml = format!(
        "storage:\n  mysql:\n    address: 'unix://{}'\n    tls:\n      server_name: db\n      \
         skip_verify: false\n",
        socket.display()
    );

    assert_tls_refused(&sandbox, &yaml, &[], "storage.mysql.tls");
}

#[cfg(feature = "postgres")]
#[test]
fn a_postgres_tls_section_is_refused_not_ignored() {
    let sandbox = Sandbox::new();
    let yaml = format!(
        "storage:\n  postgres:\n    address: 'unix://{}'\n    tls:\n      server_name: db\n",
        sandbox.path().display()
    );

    assert_tls_refused(&sandbox, &yaml, &[], "storage.postgres.tls");
}

#[test]
fn a_tls_key_under_any_backend_section_is_refused() {
    let sandbox = Sandbox::new();
    let yaml = format!(
        "storage:\n  local:\n    path: '{}'\n    tls: {{}}\n",
        sandbox.db_arg()
    );

    assert_tls_refused(&sandbox, &yaml, &[], "storage.local.tls");
}

#[test]
fn a_tls_variable_of_a_backend_is_refused() {
    let sandbox = Sandbox::new();
    let yaml = base_config(&sandbox, "");

    assert_tls_refused(
        &sandbox,
        &yaml,
        &[("TOTPSTORE_STORAGE_LOCAL_TLS_SERVER_NAME", "db")],
        "TOTPSTORE_STORAGE_LOCAL_TLS_SERVER_NAME",
    );
}

#[test]
fn a_yaml_error_in_a_folder_names_the_file_inside_it() {
    let sandbox = Sandbox::new();
    sandbox.write("conf.d/10-good.yml", &base_config(&sandbox, ""));
    sandbox.write("conf.d/20-bad.yml", "totp:\n\tissuer: tab\n");

    let run = generate(&sandbox, &["-c", "conf.d"], &[]);

    let message = run.error();
    assert!(
        message.contains("20-bad.yml' at line 2, column 1"),
        "{message}"
    );
}

#[test]
fn expand_env_replaces_both_forms() {
    let sandbox = Sandbox::new();
    let yaml = "storage:\n  encryption_key: '${THE_KEY}'\n  local:\n    path: '$THE_DB'\n\
                totp:\n  issuer: '${ISSUER}'\n";
    sandbox.write("configuration.yml", yaml);
    let db = sandbox.db_arg();
    let env = [
        ("THE_KEY", KEY),
        ("THE_DB", db.as_str()),
        ("ISSUER", "Expanded"),
    ];

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "expand-env"],
        &env,
    );

    assert_eq!(head(&run), uri_head("Expanded", "SHA1", 6, 30));
    assert_eq!(sandbox.rows().len(), 1);
}

#[test]
fn without_the_filter_dollar_text_is_taken_literally() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        &base_config(&sandbox, "issuer: '${ISSUER}'"),
    );

    let run = generate(&sandbox, &[], &[("ISSUER", "Expanded")]);

    assert_eq!(head(&run), uri_head("%24%7BISSUER%7D", "SHA1", 6, 30));
}

#[test]
fn expand_env_refuses_an_unset_variable_naming_it() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        &base_config(&sandbox, "issuer: '${NOT_SET_ANYWHERE}'"),
    );

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "expand-env"],
        &[],
    );

    run.error_with(&["NOT_SET_ANYWHERE", "configuration.yml", "line 6"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn the_filters_variable_enables_filters() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "configuration.yml",
        &base_config(&sandbox, "issuer: '${ISSUER}'"),
    );

    let run = generate(
        &sandbox,
        &[],
        &[
            ("TOTPSTORE_CONFIG_FILTERS", "expand-env"),
            ("ISSUER", "FromVariable"),
        ],
    );

    assert_eq!(head(&run), uri_head("FromVariable", "SHA1", 6, 30));
}

#[test]
fn template_reads_a_secret_file_into_a_single_quoted_string() {
    let sandbox = Sandbox::new();
    let key = "it's a \"key\" with: quotes and #marks";
    let key_file = sandbox.write("secrets/key", &format!("{key}\n"));
    let yaml = format!(
        "storage:\n  encryption_key: {{{{ secret \"{}\" | squote }}}}\n  local:\n    path: '{}'\n",
        key_file.display(),
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "template"],
        &[],
    );

    let uri = run.quiet_uri("john");
    let loaded = load_totp(&sandbox.db(), key, "john").expect("the file's key, newline dropped");
    assert_eq!(loaded.map(|c| c.username).as_deref(), Some("john"));
    assert_eq!(
        base32_decode(split_secret(&uri).1).len(),
        32,
        "a normal secret"
    );
}

/// Generates with the key read by `{{ secret "key" | <pipe> }}` from a file holding `key`
/// (plus a newline), and checks the database opens with exactly `key`.
fn assert_template_key_kept(pipe: &str, key: &str) {
    let sandbox = Sandbox::new();
    let key_file = sandbox.write("secrets/key", &format!("{key}\n"));
    let yaml = format!(
        "storage:\n  encryption_key: {{{{ secret \"{}\" | {pipe} }}}}\n  local:\n    path: '{}'\n",
        key_file.display(),
        sandbox.db_arg()
    );
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "template"],
        &[],
    );

    run.quiet_uri("john");
    let loaded = load_totp(&sandbox.db(), key, "john").expect("the exact key opens the database");
    assert!(loaded.is_some());
}

const MULTI_LINE_KEY: &str = "  first line: of the key # not a comment\n\tsecond 'line' \"\\n\" ";

#[test]
fn squote_keeps_a_multi_line_key_exactly() {
    assert_template_key_kept("squote", MULTI_LINE_KEY);
}

#[test]
fn quote_keeps_a_multi_line_key_exactly() {
    assert_template_key_kept("quote", MULTI_LINE_KEY);
}

#[test]
fn template_env_and_must_env_with_quote() {
    let sandbox = Sandbox::new();
    let yaml = base_config(
        &sandbox,
        "issuer: {{ env \"ISSUER\" | quote }}\nalgorithm: {{ mustEnv \"ALGORITHM\" }}",
    );
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "template"],
        &[("ISSUER", "Quoted Inc"), ("ALGORITHM", "SHA256")],
    );

    assert_eq!(head(&run), uri_head("Quoted%20Inc", "SHA256", 6, 30));
}

#[test]
fn template_must_env_refuses_an_unset_variable() {
    let sandbox = Sandbox::new();
    let yaml = base_config(&sandbox, "issuer: {{ mustEnv \"NOT_SET_ANYWHERE\" }}");
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "template"],
        &[],
    );

    run.error_with(&["NOT_SET_ANYWHERE", "configuration.yml"]);
}

#[test]
fn template_refuses_an_unknown_function_naming_file_and_line() {
    let sandbox = Sandbox::new();
    let yaml = base_config(&sandbox, "issuer: {{ shell \"id\" }}");
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "template"],
        &[],
    );

    run.error_with(&["shell", "configuration.yml", "line 6"]);
}

#[test]
fn filters_run_in_the_order_given() {
    let sandbox = Sandbox::new();
    let yaml = base_config(&sandbox, "issuer: {{ env \"${WHICH}\" | squote }}");
    sandbox.write("configuration.yml", &yaml);

    let run = generate(
        &sandbox,
        &["--config.experimental.filters", "expand-env,template"],
        &[("WHICH", "REAL_ISSUER"), ("REAL_ISSUER", "Twice")],
    );

    assert_eq!(head(&run), uri_head("Twice", "SHA1", 6, 30));
}

#[test]
fn an_unknown_filter_is_an_error_listing_the_known_ones() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--config.experimental.filters", "yaml-magic"]);

    run.error_with(&["yaml-magic", "expand-env", "template"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn an_unknown_filter_in_the_variable_is_an_error_too() {
    let sandbox = Sandbox::new();
    let args = sandbox.generate_args("john", &[]);

    let run = sandbox.run_env(&args, &[("TOTPSTORE_CONFIG_FILTERS", "expand-env,nope")]);

    run.error_with(&["nope", "expand-env", "template"]);
}
