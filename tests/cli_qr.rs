//! `generate --path`: the PNG read back with the rqrr QR decoder equals the printed URI, its
//! size, colours, quiet zone and error correction, mode 0600, the paths refused before the
//! database is touched (existing file, directory, symbolic links, missing or read-only folder,
//! a name the file system refuses), and a PNG that fails after the database write.

#![cfg(all(feature = "sqlite", unix))]

mod common;

use common::cli::*;

const SUFFIX: &str = " and saved it as a PNG image at the path";

#[test]
fn the_png_decodes_to_exactly_the_printed_uri() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--path", "john.png"]);

    let line = run.success();
    assert!(line.ends_with(&format!("{SUFFIX} 'john.png'")), "{line}");
    let uri = run.uri("john");
    assert_eq!(
        line,
        format!("{}{SUFFIX} 'john.png'", success_line("john", &uri))
    );
    let qr = decode_qr(&sandbox.join("john.png"));
    assert_eq!(qr.text, uri);
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&qr.text));
    assert_eq!(temporary_files(&sandbox), Vec::<String>::new());
}

#[test]
fn the_png_is_at_least_256_pixels_square_dark_on_white_with_a_quiet_zone() {
    let sandbox = Sandbox::new();

    sandbox
        .generate("john", &["--path", "john.png"])
        .quiet_uri("john");

    let qr = decode_qr(&sandbox.join("john.png"));
    assert!(
        qr.width >= 256 && qr.height >= 256,
        "{}x{}",
        qr.width,
        qr.height
    );
    assert_eq!(qr.width, qr.height);
    assert_eq!(qr.corner_luma, 255, "the quiet zone must be white");
    assert!(
        qr.quiet_zone_modules >= 4.0,
        "quiet zone of {} modules on a {}-module code",
        qr.quiet_zone_modules,
        qr.modules
    );
}

#[test]
fn the_error_correction_level_is_m_or_higher() {
    let sandbox = Sandbox::new();

    sandbox
        .generate("john", &["--path", "john.png"])
        .quiet_uri("john");

    // ISO/IEC 18004 format bits: L = 01, M = 00, Q = 11, H = 10.
    let qr = decode_qr(&sandbox.join("john.png"));
    assert_ne!(qr.ecc_bits, 0b01, "error correction level L is too weak");
}

#[test]
fn the_png_is_created_with_mode_0600() {
    let sandbox = Sandbox::new();

    sandbox
        .generate("john", &["--path", "john.png"])
        .quiet_uri("john");

    assert_eq!(mode(&sandbox.join("john.png")), 0o600);
}

#[test]
fn the_path_is_reported_as_given() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("codes")).unwrap();
    let absolute = sandbox.join("codes/absolute.png");
    let absolute = absolute.to_str().unwrap();

    let relative = sandbox.generate("rel", &["--path", "./codes/../codes/rel.png"]);
    let full = sandbox.generate("abs", &["-p", absolute]);

    assert!(relative
        .success()
        .ends_with(&format!("{SUFFIX} './codes/../codes/rel.png'")));
    assert!(full.success().ends_with(&format!("{SUFFIX} '{absolute}'")));
    assert_eq!(
        decode_qr(&sandbox.join("codes/rel.png")).text,
        relative.uri("rel")
    );
    assert_eq!(
        decode_qr(&sandbox.join("codes/absolute.png")).text,
        full.uri("abs")
    );
}

#[test]
fn encoded_names_survive_the_round_trip() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate(
        "jöhn doe@example.com",
        &["--issuer", "Société Générale", "--path", "john.png"],
    );

    let uri = run.uri("jöhn doe@example.com");
    assert!(uri.contains("Soci%C3%A9t%C3%A9%20G%C3%A9n%C3%A9rale:j%C3%B6hn%20doe@example.com"));
    assert_eq!(decode_qr(&sandbox.join("john.png")).text, uri);
}

#[test]
fn a_long_uri_with_a_128_byte_secret_still_decodes() {
    let sandbox = Sandbox::new();
    let user = "u".repeat(100);
    let issuer = "i".repeat(100);

    let run = sandbox.generate(
        &user,
        &[
            "--issuer",
            &issuer,
            "--secret-size",
            "128",
            "--algorithm",
            "SHA512",
            "--digits",
            "8",
            "--period",
            "3600",
            "--path",
            "long.png",
        ],
    );

    let uri = run.uri(&user);
    assert_eq!(decode_qr(&sandbox.join("long.png")).text, uri);
}

#[test]
fn an_existing_file_is_refused_before_the_database_is_touched() {
    let sandbox = Sandbox::new();
    let png = sandbox.write("john.png", "keep me");

    let run = sandbox.generate("john", &["--path", "john.png"]);

    run.error_with(&["--path", "john.png", "already exists"]);
    assert_eq!(std::fs::read_to_string(&png).unwrap(), "keep me");
    assert!(
        !sandbox.db().exists(),
        "the database must not even be created"
    );
}

#[test]
fn an_existing_file_is_refused_on_a_database_in_use_without_writing() {
    let sandbox = Sandbox::new().seeded();
    sandbox.write("john.png", "keep me");
    let before = sandbox.rows();

    let run = sandbox.generate("john", &["--force", "--path", "john.png"]);

    run.error_with(&["already exists"]);
    assert_eq!(sandbox.rows(), before);
}

#[test]
fn a_dangling_symbolic_link_is_refused_and_not_followed() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink(sandbox.join("target.png"), sandbox.join("john.png")).unwrap();

    let run = sandbox.generate("john", &["--path", "john.png"]);

    run.error_with(&["--path", "already exists"]);
    assert!(
        !sandbox.join("target.png").exists(),
        "the link must not be followed"
    );
    assert!(std::fs::symlink_metadata(sandbox.join("john.png"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!sandbox.db().exists());
}

#[test]
fn a_symbolic_link_to_an_existing_file_is_refused() {
    let sandbox = Sandbox::new();
    let target = sandbox.write("target.png", "keep me");
    std::os::unix::fs::symlink(&target, sandbox.join("john.png")).unwrap();

    let run = sandbox.generate("john", &["--path", "john.png"]);

    run.error_with(&["--path", "already exists"]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(!sandbox.db().exists());
}

#[test]
fn a_directory_is_refused() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("john.png")).unwrap();

    let run = sandbox.generate("john", &["--path", "john.png"]);

    run.error_with(&["--path", "already exists"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn a_missing_folder_is_refused_before_the_database_is_touched() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--path", "missing/john.png"]);

    run.error_with(&["--path", "missing", "does not exist"]);
    assert!(!sandbox.join("missing").exists());
    assert!(!sandbox.db().exists());
}

#[test]
fn a_file_as_the_folder_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write("plain-file", "");

    let run = sandbox.generate("john", &["--path", "plain-file/john.png"]);

    run.error_with(&["--path", "plain-file"]);
    assert!(!sandbox.db().exists());
}

#[test]
fn no_png_is_written_when_the_user_already_exists() {
    let sandbox = Sandbox::new();
    sandbox.generate("john", &[]).quiet_uri("john");

    let run = sandbox.generate("john", &["--path", "john.png"]);

    run.error_with(&["john already has a TOTP configuration"]);
    assert!(!sandbox.join("john.png").exists());
    assert_eq!(temporary_files(&sandbox), Vec::<String>::new());
}

/// The PNG's temporary files left in the sandbox (there must be none after a run).
fn temporary_files(sandbox: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sandbox.path())
        .expect("list the sandbox")
        .map(|e| e.expect("read a folder entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".totpstore-"))
        .collect()
}

/// Runs `generate john --force --path <path>` on a database where john has a configuration,
/// and checks it is refused before that configuration is replaced.
fn assert_path_refused_before_the_secret_is_replaced(path: &str, parts: &[&str]) {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.join("codes")).unwrap();
    sandbox.generate("john", &[]).quiet_uri("john");
    let before = sandbox.rows();

    let run = sandbox.generate("john", &["--force", "--path", path]);

    run.error_with(parts);
    assert_eq!(
        sandbox.rows(),
        before,
        "the stored secret must not be replaced"
    );
    assert_eq!(temporary_files(&sandbox), Vec::<String>::new());
}

#[test]
fn a_missing_folder_with_a_trailing_slash_is_refused_before_the_secret_is_replaced() {
    assert_path_refused_before_the_secret_is_replaced("nosuchdir/", &["--path", "folder"]);
}

#[test]
fn an_existing_folder_with_a_trailing_slash_is_refused() {
    assert_path_refused_before_the_secret_is_replaced("codes/", &["--path", "folder"]);
}

#[test]
fn paths_ending_in_dot_names_are_refused_as_folders() {
    for path in [".", "..", "codes/.", "codes/..", "nosuchdir/."] {
        assert_path_refused_before_the_secret_is_replaced(path, &["--path", "folder"]);
    }
}

#[test]
fn a_file_name_too_long_for_the_file_system_is_refused_before_the_secret_is_replaced() {
    let name = format!("{}.png", "n".repeat(300));

    assert_path_refused_before_the_secret_is_replaced(&name, &["--path", "too long"]);
}

#[test]
fn a_file_as_the_folder_is_refused_before_the_secret_is_replaced() {
    let path = format!("{DB}/john.png");

    assert_path_refused_before_the_secret_is_replaced(&path, &["--path", "Not a directory"]);
}

/// Runs generate as a user whom folder permissions stop: the current one, or `nobody` (through
/// setpriv) when the tests run as root, who may write anywhere. `None` when that cannot be
/// arranged.
fn generate_unprivileged(sandbox: &Sandbox, user: &str, extra: &[&str]) -> Option<Run> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let root = status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    let mut command = if root {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        command
    } else {
        std::process::Command::new(BIN)
    };
    command
        .current_dir(sandbox.path())
        .env_clear()
        .args(sandbox.generate_args(user, extra));
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    match command.output() {
        Ok(output) => Some(Run::from(output)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run setpriv: {e}"),
    }
}

#[test]
fn a_folder_the_user_cannot_write_to_is_refused_before_the_database_is_touched() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let folder = sandbox.join("read-only");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(sandbox.path(), std::fs::Permissions::from_mode(0o777)).unwrap();

    let Some(run) = generate_unprivileged(&sandbox, "john", &["--path", "read-only/john.png"])
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but setpriv is missing"
        );
        eprintln!("setpriv is not installed; the read-only folder case is skipped");
        return;
    };

    run.error_with(&["read-only/john.png", "Permission denied"]);
    assert!(!sandbox.db().exists(), "no secret may be stored: {run:#?}");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 0);
}

#[test]
fn a_png_that_cannot_be_published_after_the_write_still_leaves_the_uri_printed() {
    let sandbox = Sandbox::new();

    // The database file does not exist when the path is checked, and exists once it is
    // written: the one failure left after the database write, a name taken meanwhile.
    let run = sandbox.generate("john", &["--path", DB]);

    assert_eq!(run.code, Some(1), "{run:#?}");
    let line = run.stdout.strip_suffix('\n').expect("one line on stdout");
    let uri = line
        .strip_prefix("Successfully generated TOTP configuration for user 'john' with URI '")
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("the normal line, without the PNG part: {line:?}"));
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(uri));
    assert_eq!(
        run.stderr,
        format!(
            "Error: the TOTP configuration for user 'john' was saved and its URI printed, but \
             the PNG was not: cannot write the PNG image to '{DB}': File exists (os error 17)\n"
        )
    );
    assert_eq!(temporary_files(&sandbox), Vec::<String>::new());
}

#[test]
fn force_with_a_path_writes_the_png_of_the_new_secret() {
    let sandbox = Sandbox::new();
    sandbox.generate("john", &[]).quiet_uri("john");

    let run = sandbox.generate("john", &["--force", "--path", "john.png"]);

    let uri = run.uri("john");
    assert_eq!(decode_qr(&sandbox.join("john.png")).text, uri);
    assert_eq!(stored_secret(&sandbox.db(), "john"), secret_bytes(&uri));
}

#[test]
fn an_empty_path_is_refused() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john", &["--path", ""]);

    run.error_with(&["--path"]);
    assert!(!sandbox.db().exists());
}
