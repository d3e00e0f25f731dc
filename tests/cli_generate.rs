//! End-to-end `storage user totp generate` on SQLite: the success line and URI, random and given
//! secrets checked against RFC 4648, RFC 6238 Appendix B and oathtool, the stored row, --force,
//! and a stdout or stderr that is closed or full.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

const ALGORITHMS: [(&str, &[u8]); 3] = [
    ("SHA1", RFC_SEED_SHA1),
    ("SHA256", RFC_SEED_SHA256),
    ("SHA512", RFC_SEED_SHA512),
];

#[test]
fn the_test_base32_helpers_follow_rfc4648_section_10() {
    let vectors = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    for (plain, encoded) in vectors {
        assert_eq!(base32_encode(plain.as_bytes()), encoded);
        assert_eq!(base32_decode(encoded), plain.as_bytes());
    }
}

#[test]
fn a_default_run_prints_the_exact_line_with_a_32_byte_secret() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &[]);

    let uri = run.quiet_uri("john");
    let (_, secret) = split_secret(&uri);
    assert_eq!(
        secret.len(),
        52,
        "32 bytes are 52 base32 characters without padding"
    );
    assert_eq!(base32_decode(secret).len(), 32);
    let expected = expected_uri("Authelia", "john", "SHA1", 6, 30, secret);
    assert_eq!(
        expected,
        format!(
            "otpauth://totp/Authelia:john?algorithm=SHA1&digits=6&issuer=Authelia&period=30\
             &secret={secret}"
        )
    );
    assert_eq!(run.stdout, format!("{}\n", success_line("john", &expected)));
}

#[test]
fn each_run_draws_a_new_random_secret() {
    let sandbox = Sandbox::new();

    let first = sandbox.generate("alice", &[]).quiet_uri("alice");
    let second = sandbox.generate("bob", &[]).quiet_uri("bob");

    assert_ne!(secret_bytes(&first), secret_bytes(&second));
    assert_ne!(secret_bytes(&first), vec![0u8; 32]);
}

#[test]
fn secret_size_sets_the_number_of_random_bytes() {
    let sandbox = Sandbox::new();

    let small = sandbox
        .generate("small", &["--secret-size", "20"])
        .quiet_uri("small");
    let large = sandbox
        .generate("large", &["--secret-size", "128"])
        .quiet_uri("large");

    assert_eq!(split_secret(&small).1.len(), 32);
    assert_eq!(secret_bytes(&small).len(), 20);
    assert_eq!(split_secret(&large).1.len(), 205);
    assert_eq!(secret_bytes(&large).len(), 128);
}

#[test]
fn the_printed_secret_is_the_one_stored() {
    let sandbox = Sandbox::new();

    let uri = sandbox.generate("john", &[]).quiet_uri("john");

    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn a_given_secret_is_printed_in_canonical_form() {
    let sandbox = Sandbox::new();

    let uri = sandbox
        .generate(
            "john",
            &["--secret", "gezd gnbv gy3t qojq GEZD gnbv gy3t qojq"],
        )
        .quiet_uri("john");

    assert_eq!(
        uri,
        expected_uri(
            "Authelia",
            "john",
            "SHA1",
            6,
            30,
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        )
    );
    assert_eq!(stored_secret(&sandbox.db(), "john"), RFC_SEED_SHA1);
}

#[test]
fn a_given_secret_with_unused_bits_set_is_printed_as_typed() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--secret", "jbsw y3dp ehpk 3pxp ab=="]);

    let uri = run.uri("john");
    assert_eq!(split_secret(&uri).1, "JBSWY3DPEHPK3PXPAB");
    // The bytes any decoder reads from it: "Hello!", DE AD BE EF, then 00 (the last
    // character's low bit is unused).
    let stored = stored_secret(&sandbox.db(), "john");
    assert_eq!(stored, b"Hello!\xde\xad\xbe\xef\x00");
    if let Some(typed) = oathtool("JBSWY3DPEHPK3PXPAB", "SHA1", 6, 30, 59) {
        let canonical = oathtool(&base32_encode(&stored), "SHA1", 6, 30, 59);
        assert_eq!(Some(typed), canonical);
    }
}

#[test]
fn a_given_secret_loses_its_padding() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY======"]);

    let uri = run.uri("john");
    assert_eq!(split_secret(&uri).1, "GEZDGNBVGY3TQOJQGEZDGNBVGY");
    assert_eq!(stored_secret(&sandbox.db(), "john"), b"1234567890123456");
    assert!(
        run.warnings().is_empty(),
        "16 bytes meet RFC 4226: {run:#?}"
    );
}

#[test]
fn rfc6238_seeds_given_as_secrets_yield_the_appendix_b_codes() {
    let sandbox = Sandbox::new();

    let mut runs = Vec::new();
    for (algorithm, seed) in ALGORITHMS {
        let user = format!("user-{algorithm}");
        let secret = base32_encode(seed);
        let args = [
            "--secret",
            &secret,
            "--algorithm",
            algorithm,
            "--digits",
            "8",
        ];
        runs.push((
            algorithm,
            seed,
            user.clone(),
            sandbox.generate(&user, &args),
        ));
    }

    for (column, (algorithm, seed, user, run)) in runs.iter().enumerate() {
        let uri = run.quiet_uri(user);
        let printed = split_secret(&uri).1;
        assert_eq!(
            uri,
            expected_uri("Authelia", user, algorithm, 8, 30, printed)
        );
        assert_eq!(base32_decode(printed), *seed);
        let stored = load_totp(&sandbox.db(), KEY, user).unwrap().unwrap();
        assert_eq!(stored.algorithm.as_str(), *algorithm);
        for vector in RFC6238_VECTORS {
            let (time, expected) = (vector.0, [vector.1, vector.2, vector.3][column]);
            let code = totpstore::otp::code(&stored.secret, stored.algorithm, 8, 30, time);
            assert_eq!(
                code, expected,
                "{algorithm} from the stored secret at {time}"
            );
            if let Some(code) = oathtool(printed, algorithm, 8, 30, time) {
                assert_eq!(code, expected, "oathtool, {algorithm} at {time}");
            }
        }
    }
}

#[test]
fn random_secrets_give_the_same_codes_in_oathtool_and_in_storage() {
    let sandbox = Sandbox::new();
    let settings = [("SHA1", 6, 30), ("SHA256", 8, 60), ("SHA512", 6, 15)];

    let runs: Vec<_> = settings
        .iter()
        .map(|(algorithm, digits, period)| {
            let (digits, period) = (digits.to_string(), period.to_string());
            let args = [
                "--algorithm",
                algorithm,
                "--digits",
                &digits,
                "--period",
                &period,
            ];
            sandbox.generate(algorithm, &args)
        })
        .collect();

    for ((algorithm, digits, period), run) in settings.iter().zip(&runs) {
        let uri = run.quiet_uri(algorithm);
        let printed = split_secret(&uri).1;
        assert_eq!(
            uri,
            expected_uri("Authelia", algorithm, algorithm, *digits, *period, printed)
        );
        let stored = load_totp(&sandbox.db(), KEY, algorithm).unwrap().unwrap();
        for time in [59, 1_111_111_109, 2_000_000_000] {
            let code =
                totpstore::otp::code(&stored.secret, stored.algorithm, *digits, *period, time);
            assert_eq!(code.len(), *digits as usize);
            if let Some(expected) = oathtool(printed, algorithm, *digits, *period, time) {
                assert_eq!(code, expected, "{algorithm} at {time}");
            }
        }
    }
}

#[test]
fn the_row_holds_the_configuration_and_a_sealed_secret() {
    let sandbox = Sandbox::new();

    let args = [
        "--issuer",
        "Example",
        "--algorithm",
        "SHA256",
        "--digits",
        "8",
        "--period",
        "45",
    ];
    sandbox.generate("john", &args).quiet_uri("john");

    let rows = sandbox.rows();
    assert_eq!(rows.len(), 1);
    let row = &rows["john"];
    assert_eq!(
        (
            row.issuer.as_str(),
            row.algorithm.as_str(),
            row.digits,
            row.period
        ),
        ("Example", "SHA256", 8, 45)
    );
    assert_eq!(
        row.secret.len(),
        1 + 24 + 32 + 16,
        "version || nonce || ciphertext || tag"
    );
    assert_eq!(row.secret[0], 1, "format version byte");
    assert_eq!(row.last_used_at, None);
    assert!(!row.created_at.is_empty());
}

#[test]
fn usernames_differing_only_in_case_are_different_users() {
    let sandbox = Sandbox::new();

    sandbox.generate("john", &[]).quiet_uri("john");
    let run = sandbox.generate("John", &[]);

    run.quiet_uri("John");
    let names: Vec<String> = sandbox.rows().into_keys().collect();
    assert_eq!(names, ["John", "john"]);
}

#[test]
fn an_existing_configuration_is_kept_without_force() {
    let sandbox = Sandbox::new();
    let first = sandbox.generate("john", &[]).quiet_uri("john");
    let before = sandbox.rows();

    let run = sandbox.generate("john", &["--issuer", "Other"]);

    assert_eq!(
        run.error(),
        "john already has a TOTP configuration, use --force to overwrite"
    );
    assert_eq!(run.stderr.lines().count(), 1);
    assert_eq!(sandbox.rows(), before);
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&first));
}

#[test]
fn force_replaces_the_configuration_and_keeps_one_row() {
    let sandbox = Sandbox::new();
    let first = sandbox.generate("john", &[]).quiet_uri("john");

    let run = sandbox.generate("john", &["--force", "--issuer", "Other", "--digits", "8"]);

    let second = run.quiet_uri("john");
    assert_ne!(secret_bytes(&first), secret_bytes(&second));
    let rows = sandbox.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows["john"].issuer.as_str(), rows["john"].digits),
        ("Other", 8)
    );
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&second));
}

#[test]
fn short_force_flag_replaces_too() {
    let sandbox = Sandbox::new();
    sandbox.generate("john", &[]).quiet_uri("john");

    let second = sandbox.generate("john", &["-f"]).quiet_uri("john");

    assert_eq!(sandbox.rows().len(), 1);
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&second));
}

#[test]
fn force_on_a_new_user_creates_the_configuration() {
    let sandbox = Sandbox::new();

    let uri = sandbox.generate("john", &["--force"]).quiet_uri("john");

    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn the_database_file_is_created_private() {
    let sandbox = Sandbox::new();

    sandbox.generate("john", &[]).quiet_uri("john");

    assert_eq!(mode(&sandbox.db()), 0o600);
}

/// `generate <user>` with stdout and stderr sent where `configure` says; stdout and stderr
/// not set there are captured.
#[cfg(unix)]
fn generate_to(
    sandbox: &Sandbox,
    user: &str,
    extra: &[&str],
    configure: impl FnOnce(&mut std::process::Command),
) -> Run {
    let mut command = sandbox.command();
    command.args(sandbox.generate_args(user, extra));
    configure(&mut command);
    Run::from(command.output().expect("run the totpstore binary"))
}

#[cfg(unix)]
fn dev_full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full")
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_is_refused_before_the_database_is_touched() {
    let sandbox = Sandbox::new().seeded();
    let before = sandbox.rows();
    let mut args = vec![
        "-c".to_owned(),
        "exec \"$0\" \"$@\" >&-".to_owned(),
        BIN.into(),
    ];
    args.extend(sandbox.generate_args("seed", &["--force"]));
    let mut command = std::process::Command::new("/bin/sh");
    command.current_dir(sandbox.path()).env_clear().args(&args);

    let run = Run::from(command.output().expect("run sh"));

    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.starts_with("Error: standard output is closed"),
        "{run:#?}"
    );
    assert_eq!(sandbox.rows(), before, "the secret must not be replaced");
}

#[cfg(unix)]
#[test]
fn stdout_sent_to_dev_null_by_the_operator_is_allowed() {
    let sandbox = Sandbox::new();

    let run = generate_to(&sandbox, "john", &[], |c| {
        c.stdout(std::process::Stdio::null());
    });

    assert_eq!(run.code, Some(0), "{run:#?}");
    assert_eq!(sandbox.rows().len(), 1);
}

#[cfg(unix)]
#[test]
fn a_failed_write_of_the_uri_says_the_configuration_was_saved() {
    let sandbox = Sandbox::new();

    let run = generate_to(&sandbox, "john", &[], |c| {
        c.stdout(dev_full());
    });

    assert_eq!(run.code, Some(1), "no panic (101): {run:#?}");
    assert_eq!(
        run.stderr,
        "Error: the TOTP configuration for user 'john' was saved, but the URI could not be \
         written to standard output: No space left on device (os error 28); run again with \
         --force to replace it\n"
    );
    assert_eq!(sandbox.rows().len(), 1);
}

#[cfg(unix)]
#[test]
fn a_warning_that_cannot_be_written_does_not_stop_the_command() {
    let sandbox = Sandbox::new();
    // 15 bytes: accepted with a warning on stderr.
    let short_secret = "GEZDGNBVGY3TQOJQGEZDGNBV";

    let run = generate_to(&sandbox, "john", &["--secret", short_secret], |c| {
        c.stderr(dev_full());
    });

    assert_eq!(run.code, Some(0), "no panic (101): {run:#?}");
    assert_eq!(split_secret(&run.uri("john")).1, short_secret);
}

#[cfg(unix)]
#[test]
fn an_error_that_cannot_be_written_still_exits_with_status_1() {
    let sandbox = Sandbox::new();

    let run = generate_to(&sandbox, "john", &["--digits", "7"], |c| {
        c.stderr(dev_full());
    });

    assert_eq!(run.code, Some(1), "no panic (101): {run:#?}");
}
