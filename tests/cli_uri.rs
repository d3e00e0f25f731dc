//! The `otpauth://` URI printed by `generate`: percent-encoding of the label and the query
//! (spaces as %20, UTF-8, `@` literal, `:` in a username as %3A), and the row keyed by the
//! raw username. Expected strings are written out by hand from RFC 3986.

#![cfg(feature = "sqlite")]

mod common;

use common::cli::*;

const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// Generates `user` with `issuer` and the fixed secret; returns the URI without the secret.
fn uri_for(sandbox: &Sandbox, user: &str, issuer: &str) -> String {
    let run = sandbox.generate(user, &["--issuer", issuer, "--secret", SECRET]);
    let uri = run.quiet_uri(user);
    let (head, secret) = split_secret(&uri);
    assert_eq!(secret, SECRET);
    head.to_owned()
}

#[test]
fn plain_names_are_not_encoded() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "john", "Authelia");

    assert_eq!(
        uri,
        "otpauth://totp/Authelia:john?algorithm=SHA1&digits=6&issuer=Authelia&period=30"
    );
}

#[test]
fn spaces_are_percent_20_in_the_label_and_the_query() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "john doe", "Example Inc");

    assert_eq!(
        uri,
        "otpauth://totp/Example%20Inc:john%20doe?algorithm=SHA1&digits=6\
         &issuer=Example%20Inc&period=30"
    );
    assert!(!uri.contains('+'));
}

#[test]
fn utf8_names_are_percent_encoded_byte_by_byte() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "jöhn名", "Société");

    assert_eq!(
        uri,
        "otpauth://totp/Soci%C3%A9t%C3%A9:j%C3%B6hn%E5%90%8D?algorithm=SHA1&digits=6\
         &issuer=Soci%C3%A9t%C3%A9&period=30"
    );
}

#[test]
fn an_at_sign_stays_literal() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "john@example.com", "Example");

    assert_eq!(
        uri,
        "otpauth://totp/Example:john@example.com?algorithm=SHA1&digits=6&issuer=Example&period=30"
    );
}

#[test]
fn a_colon_in_the_username_is_percent_3a() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "corp:john", "Example");

    assert_eq!(
        uri,
        "otpauth://totp/Example:corp%3Ajohn?algorithm=SHA1&digits=6&issuer=Example&period=30"
    );
}

#[test]
fn reserved_characters_are_encoded_and_unreserved_ones_kept() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "a/b?c&d=e+f#g%h", "A-b.c_d~e");

    assert_eq!(
        uri,
        "otpauth://totp/A-b.c_d~e:a%2Fb%3Fc%26d%3De%2Bf%23g%25h?algorithm=SHA1&digits=6\
         &issuer=A-b.c_d~e&period=30"
    );
}

#[test]
fn emoji_are_four_encoded_bytes() {
    let sandbox = Sandbox::new();

    let uri = uri_for(&sandbox, "🙂", "Example");

    assert_eq!(
        uri,
        "otpauth://totp/Example:%F0%9F%99%82?algorithm=SHA1&digits=6&issuer=Example&period=30"
    );
}

#[test]
fn the_row_keeps_the_raw_names() {
    let sandbox = Sandbox::new();

    uri_for(&sandbox, "corp:john doe@example.com", "Société Générale");

    let rows = sandbox.rows();
    let row = &rows["corp:john doe@example.com"];
    assert_eq!(row.issuer, "Société Générale");
}

#[test]
fn the_success_line_quotes_the_raw_username() {
    let sandbox = Sandbox::new();

    let run = sandbox.generate("john doe", &["--secret", SECRET]);

    assert_eq!(
        run.success(),
        success_line(
            "john doe",
            &format!(
                "otpauth://totp/Authelia:john%20doe?algorithm=SHA1&digits=6&issuer=Authelia\
                 &period=30&secret={SECRET}"
            )
        )
    );
}
