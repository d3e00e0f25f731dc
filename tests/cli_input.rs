//! Bad input to `generate` (DESIGN.md section 2): every refusal is an `Error: ` line with exit
//! status 1, writes no row and repeats no secret or key; accepted edge cases and usage errors.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

/// Runs `generate <user> <args>` on a database already holding one row and checks the
/// refusal: exit 1, an error naming every part of `parts`, the rows unchanged, and neither the
/// key nor any `--secret` value repeated.
fn assert_refused(user: &str, args: &[&str], parts: &[&str]) {
    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();

    let run = sandbox.generate(user, args);

    run.error_with(parts);
    run.assert_not_echoed(KEY);
    if let Some(at) = args.iter().position(|a| *a == "--secret") {
        let secret = args[at + 1].trim();
        if secret.len() >= 4 {
            run.assert_not_echoed(secret);
        }
    }
    assert_eq!(sandbox.rows(), before, "a refused command must not write");
    assert_eq!(sandbox.rows().len(), 1);
}

/// One test per refused input: `name: user, [flags] => [parts of the message]`.
macro_rules! refused {
    ($($name:ident: $user:expr, [$($arg:expr),*] => [$($part:expr),+];)*) => {$(
        #[test]
        fn $name() {
            assert_refused($user, &[$($arg),*], &[$($part),+]);
        }
    )*};
}

refused! {
    digits_7: "john", ["--digits", "7"] => ["--digits", "6 or 8"];
    digits_0: "john", ["--digits", "0"] => ["--digits"];
    digits_not_a_number: "john", ["--digits", "six"] => ["--digits"];
    digits_negative: "john", ["--digits=-6"] => ["--digits"];
    period_14: "john", ["--period", "14"] => ["--period", "15"];
    period_3601: "john", ["--period", "3601"] => ["--period", "3600"];
    period_not_a_number: "john", ["--period", "30s"] => ["--period"];
    secret_size_19: "john", ["--secret-size", "19"] => ["--secret-size", "20"];
    secret_size_129: "john", ["--secret-size", "129"] => ["--secret-size", "128"];
    unknown_algorithm: "john", ["--algorithm", "MD5"] => ["MD5", "SHA1", "SHA256", "SHA512"];
    algorithm_with_a_dash: "john", ["--algorithm", "SHA-1"] => ["algorithm"];
    issuer_with_a_colon: "john", ["--issuer", "Example:Inc"] => ["issuer", ":"];
    issuer_with_a_new_line: "john", ["--issuer", "Example\nInc"] => ["issuer", "control"];
    issuer_with_a_tab: "john", ["--issuer", "Example\tInc"] => ["issuer", "control"];
    issuer_with_an_escape: "john", ["--issuer", "Ex\u{1b}[31mample"] => ["issuer", "control"];
    issuer_of_101_characters: "john", ["--issuer", &"i".repeat(101)] => ["issuer", "100"];
    issuer_empty: "john", ["--issuer", ""] => ["issuer", "empty"];
    username_empty: "", [] => ["username", "empty"];
    username_of_101_characters: &"u".repeat(101), [] => ["username", "100"];
    username_of_101_two_byte_characters: &"é".repeat(101), [] => ["username", "100"];
    username_with_a_leading_space: " john", [] => ["username", "white space"];
    username_with_a_trailing_space: "john ", [] => ["username", "white space"];
    username_with_a_trailing_tab: "john\t", [] => ["username"];
    username_with_a_new_line: "jo\nhn", [] => ["username", "control"];
    username_with_an_escape: "jo\u{1b}hn", [] => ["username", "control"];
    username_with_a_delete: "jo\u{7f}hn", [] => ["username", "control"];
    username_with_a_nul_like_c1_control: "jo\u{85}hn", [] => ["username", "control"];
    secret_of_9_characters: "john", ["--secret", "GEZDGNBVG"] => ["--secret", "9"];
    secret_of_11_characters: "john", ["--secret", "GEZDGNBVGY3"] => ["--secret", "11"];
    secret_of_14_characters: "john", ["--secret", "GEZDGNBVGY3TQO"] => ["--secret", "14"];
    secret_of_17_characters: "john", ["--secret", "GEZDGNBVGY3TQOJQG"] => ["--secret"];
    secret_of_22_characters_padded:
        "john", ["--secret", "GEZDGNBVGY3TQOJQGEZDGN=="] => ["--secret", "22"];
    secret_of_one_character: "john", ["--secret", "G"] => ["--secret"];
    secret_of_9_bytes: "john", ["--secret", "GEZDGNBVGY3TQOI="] => ["--secret", "10"];
    secret_of_5_bytes: "john", ["--secret", "GEZDGNBV"] => ["--secret", "10"];
    secret_empty: "john", ["--secret", ""] => ["--secret"];
    secret_with_a_digit_one: "john", ["--secret", "GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ"] =>
        ["--secret", "alphabet"];
    secret_with_a_digit_zero: "john", ["--secret", "0EZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"] =>
        ["--secret", "alphabet"];
    secret_with_a_digit_eight: "john", ["--secret", "GEZDGNBVGY3TQOJ8GEZDGNBVGY3TQOJQ"] =>
        ["--secret", "alphabet"];
    secret_with_a_dash: "john", ["--secret", "GEZDGNBV-GY3TQOJQGEZDGNBVGY3TQOJQ"] =>
        ["--secret", "alphabet"];
    secret_with_padding_in_the_middle:
        "john", ["--secret", "GEZDGNBVGY3TQOJQ========GEZDGNBVGY3TQOJQ"] => ["--secret"];
    secret_in_base64: "john", ["--secret", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="] => ["--secret"];
    path_in_a_missing_folder: "john", ["--path", "no-such-folder/john.png"] =>
        ["--path", "no-such-folder"];
    digits_with_a_leading_space: "john", ["--digits", " 6"] => ["--digits", "whole number"];
    digits_with_a_trailing_space: "john", ["--digits", "6 "] => ["--digits", "whole number"];
    digits_with_a_plus_sign: "john", ["--digits", "+6"] => ["--digits", "whole number"];
    digits_empty: "john", ["--digits", ""] => ["--digits", "empty"];
    period_as_a_decimal: "john", ["--period", "30.0"] => ["--period", "whole number"];
    period_in_exponent_notation: "john", ["--period", "3e1"] => ["--period", "whole number"];
    period_with_a_plus_sign: "john", ["--period", "+30"] => ["--period", "whole number"];
    period_too_large_for_any_integer: "john", ["--period", "99999999999999999999"] =>
        ["--period", "out of range", "15 to 3600"];
    period_too_large_for_32_bits: "john", ["--period", "4294967326"] =>
        ["--period", "outside 15 to 3600"];
    digits_too_large_for_any_integer: "john", ["--digits", "99999999999999999999"] =>
        ["--digits", "out of range", "6 or 8"];
    secret_size_in_hexadecimal: "john", ["--secret-size", "0x20"] =>
        ["--secret-size", "whole number"];
    secret_size_with_a_leading_space: "john", ["--secret-size", " 32"] =>
        ["--secret-size", "whole number"];
    secret_size_5_next_to_a_secret:
        "john", ["--secret-size", "5", "--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"] =>
        ["--secret-size", "20 to 128"];
    secret_size_not_a_number_next_to_a_secret:
        "john", ["--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "--secret-size", "many"] =>
        ["--secret-size", "whole number"];
}

#[test]
fn a_missing_encryption_key_is_refused_naming_the_ways_to_set_it() {
    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
    ]);

    run.error_with(&[
        "encryption key",
        "--encryption-key",
        "TOTPSTORE_STORAGE_ENCRYPTION_KEY",
    ]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn an_encryption_key_of_19_characters_is_refused_without_echoing_it() {
    let sandbox = Sandbox::new();
    let short = "nineteen-characters";
    assert_eq!(short.chars().count(), 19);

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        short,
    ]);

    run.error_with(&["encryption key", "20"]);
    run.assert_not_echoed(short);
    assert!(
        !sandbox.db().exists(),
        "nothing may be created for a refused key"
    );
}

#[test]
fn an_encryption_key_of_only_spaces_is_refused_without_echoing_it() {
    let sandbox = Sandbox::new();
    let blank = " ".repeat(25);

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        &blank,
    ]);

    run.error_with(&["encryption key", "white space"]);
    run.assert_not_echoed(&blank);
    assert!(!sandbox.db().exists());
}

#[test]
fn an_encryption_key_of_invisible_characters_from_the_environment_is_refused() {
    let sandbox = Sandbox::new();
    let blank = "\t\u{a0}\u{3000}\u{200b}\u{feff} ".repeat(5);
    let args = [
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
    ];

    let run = sandbox.run_env(&args, &[("TOTPSTORE_STORAGE_ENCRYPTION_KEY", &blank)]);

    run.error_with(&["encryption key", "white space"]);
    run.assert_not_echoed(&blank);
    assert!(!sandbox.db().exists());
}

#[test]
fn an_encryption_key_starting_with_a_dash_is_taken_as_the_value() {
    let sandbox = Sandbox::new();
    let key = "-starts-with-a-dash-0123456789";
    let args = [
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        key,
    ];

    let run = sandbox.run(&args);

    run.quiet_uri("john");
    assert!(load_totp(&sandbox.db(), key, "john").unwrap().is_some());
}

#[test]
fn a_secret_starting_with_a_dash_reaches_the_base32_check() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--secret", "-GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"]);

    run.error_with(&["--secret", "character 1", "alphabet"]);
    run.assert_not_echoed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

#[cfg(feature = "postgres")]
#[test]
fn a_backend_password_starting_with_a_dash_is_taken_as_the_value() {
    let sandbox = Sandbox::new();
    let password = "-hunter2-hunter2";

    let run = sandbox.generate("john", &["--postgres.password", password]);

    run.error_with(&["more than one storage backend", "postgres from flag"]);
    run.assert_not_echoed(password);
}

#[test]
fn the_key_length_counts_characters_not_bytes() {
    let sandbox = Sandbox::new();
    let nineteen_wide = "é".repeat(19);

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        &nineteen_wide,
    ]);

    run.error_with(&["encryption key", "20"]);
    run.assert_not_echoed(&nineteen_wide);
}

#[test]
fn an_encryption_key_of_exactly_20_characters_is_accepted() {
    let sandbox = Sandbox::new();

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        "twenty-characters-20",
    ]);

    run.quiet_uri("john");
}

#[test]
fn a_wrong_key_on_an_existing_database_is_refused_and_changes_nothing() {
    let sandbox = Sandbox::new().seeded();
    let rows = sandbox.rows();
    let metadata = sandbox.metadata();
    let wrong = "a-different-key-of-enough-length";

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "john",
        "--force",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        wrong,
    ]);

    run.error_with(&["encryption key does not match"]);
    run.assert_not_echoed(wrong);
    assert_eq!(sandbox.rows(), rows);
    assert_eq!(sandbox.metadata(), metadata);
}

#[test]
fn a_wrong_key_cannot_overwrite_an_existing_user_with_force() {
    let sandbox = Sandbox::new().seeded();
    let before = stored_secret(&sandbox.db(), "seed");

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "seed",
        "--force",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        "a-different-key-of-enough-length",
    ]);

    run.error_with(&["encryption key does not match"]);
    assert_eq!(stored_secret(&sandbox.db(), "seed"), before);
}

#[test]
fn a_secret_of_10_bytes_is_accepted_with_a_warning() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--secret", "GEZDGNBVGY3TQOJQ"]);

    let uri = run.uri("john");
    assert_eq!(secret_bytes(&uri), b"1234567890");
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "{run:#?}");
    assert!(
        warnings[0].contains("10 bytes") && warnings[0].contains("RFC 4226"),
        "{warnings:?}"
    );
    assert!(!run.stderr.contains("GEZDGNBVGY3TQOJQ"), "{run:#?}");
    assert_eq!(stored_secret(&sandbox.db(), "john"), b"1234567890");
}

#[test]
fn a_secret_of_15_bytes_is_accepted_with_a_warning() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--secret", "GEZDGNBVGY3TQOJQGEZDGNBV"]);

    assert_eq!(secret_bytes(&run.uri("john")), b"123456789012345");
    assert_eq!(run.warnings().len(), 1, "{run:#?}");
    assert!(run.warnings()[0].contains("15 bytes"));
}

#[test]
fn a_secret_of_16_bytes_gets_no_warning() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY"]);

    assert_eq!(secret_bytes(&run.quiet_uri("john")), b"1234567890123456");
}

#[test]
fn the_algorithm_is_accepted_in_any_letter_case() {
    let sandbox = Sandbox::new();
    let cases = [("sha1", "SHA1"), ("Sha256", "SHA256"), ("sHA512", "SHA512")];

    let runs: Vec<_> = cases
        .iter()
        .map(|(given, _)| sandbox.generate(given, &["--algorithm", given]))
        .collect();

    for ((given, canonical), run) in cases.iter().zip(runs) {
        let uri = run.quiet_uri(given);
        assert!(uri.contains(&format!("?algorithm={canonical}&")), "{uri}");
        assert_eq!(sandbox.rows()[*given].algorithm, *canonical);
    }
}

#[test]
fn the_limits_themselves_are_accepted() {
    let sandbox = Sandbox::new();
    let long_name = "u".repeat(100);
    let long_issuer = "i".repeat(100);

    let runs = [
        sandbox.generate("p15", &["--period", "15"]),
        sandbox.generate("p3600", &["--period", "3600"]),
        sandbox.generate("d8", &["--digits", "8"]),
        sandbox.generate(&long_name, &["--issuer", &long_issuer]),
        sandbox.generate(&"名".repeat(100), &[]),
    ];

    for (run, user) in runs
        .iter()
        .zip(["p15", "p3600", "d8", &long_name, &"名".repeat(100)])
    {
        run.quiet_uri(user);
    }
    assert_eq!(sandbox.rows().len(), 5);
}

#[test]
fn a_number_with_a_space_from_the_environment_is_refused_naming_the_variable() {
    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();
    let args = sandbox.generate_args("john", &[]);

    let run = sandbox.run_env(&args, &[("TOTPSTORE_TOTP_DIGITS", " 8")]);

    run.error_with(&["TOTPSTORE_TOTP_DIGITS", "whole number"]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn a_quoted_number_with_a_sign_in_a_file_is_refused_naming_the_key() {
    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();
    sandbox.write("configuration.yml", "totp:\n  period: '+30'\n");

    let run = sandbox.generate("john", &[]);

    run.error_with(&["totp.period", "configuration.yml", "whole number"]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn a_secret_size_out_of_range_in_a_file_is_refused_next_to_a_secret() {
    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();
    sandbox.write("configuration.yml", "totp:\n  secret_size: 500\n");

    let run = sandbox.generate("john", &["--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"]);

    run.error_with(&["totp.secret_size", "configuration.yml", "20 to 128"]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn leading_zeros_are_plain_decimal_digits() {
    let sandbox = Sandbox::new();

    let uri = sandbox
        .generate("john", &["--digits", "08", "--period", "060"])
        .quiet_uri("john");

    assert!(
        uri.contains("&digits=8&") && uri.contains("&period=60&"),
        "{uri}"
    );
}

#[test]
fn a_username_starting_with_a_dash_is_accepted_after_a_double_dash() {
    let sandbox = Sandbox::new();
    let mut args = sandbox.generate_args("placeholder", &[]);
    args.remove(4);
    args.extend(["--".to_owned(), "-john".to_owned()]);

    let run = sandbox.run(&args);

    assert_eq!(
        split_secret(&run.quiet_uri("-john")).0,
        "otpauth://totp/Authelia:-john?algorithm=SHA1&digits=6&issuer=Authelia&period=30"
    );
    assert!(sandbox.rows().contains_key("-john"));
}

#[test]
fn an_unknown_flag_is_a_usage_error_with_status_2() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--colour", "blue"]);

    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("--colour"), "{run:#?}");
    run.assert_not_echoed(KEY);
    assert!(sandbox.rows().is_empty());
}

#[test]
fn a_missing_username_is_a_usage_error_with_status_2() {
    let sandbox = Sandbox::new();

    let run = sandbox.run(&[
        "storage",
        "user",
        "totp",
        "generate",
        "--sqlite.path",
        &sandbox.db_arg(),
        "--encryption-key",
        KEY,
    ]);

    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("<username>"), "{run:#?}");
    run.assert_not_echoed(KEY);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_flag_without_its_value_is_a_usage_error_with_status_2() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--digits"]);

    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(sandbox.rows().is_empty());
}

#[test]
fn help_lists_every_generate_flag_with_its_default() {
    let sandbox = Sandbox::new();

    let run = sandbox.run(&["storage", "user", "totp", "generate", "--help"]);

    let help = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(run.code, Some(0));
    for flag in [
        "--algorithm",
        "--digits",
        "-f, --force",
        "--issuer",
        "-p, --path",
        "--period",
        "--secret ",
        "--secret-size",
        "-c, --config",
        "--config.experimental.filters",
        "--encryption-key",
        "--sqlite.path",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    for default in [
        "[default: SHA1]",
        "[default: 6]",
        "[default: Authelia]",
        "[default: 30]",
        "[default: 32]",
        "[default: configuration.yml]",
    ] {
        assert!(help.contains(default), "{default} missing from:\n{help}");
    }
}
