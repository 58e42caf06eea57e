//! TLS to PostgreSQL: the metadata store connects with `sslmode=require` and with
//! `sslmode=verify-full` + `sslrootcert`, and refuses a server certificate that does not match
//! (a name it was not issued for, or a CA it does not trust) under `verify-full`.
//!
//! Runs against the PostgreSQL `scripts/scaleout.sh` starts (`ssl = on`, a certificate for
//! `localhost` signed by a CA the script makes, and a role `intake_tls` that pg_hba lets in
//! over TLS only), named by `INTAKE_TEST_PG_TLS_URL`, `INTAKE_TEST_PG_TLS_CA`,
//! `INTAKE_TEST_PG_TLS_OTHER_CA` and `INTAKE_TEST_DATABASE_URL`. Without them it is skipped,
//! unless `INTAKE_TEST_REQUIRE_POSTGRES=1` (as `scripts/test.sh` sets) makes that a failure.

use intake_core::metadata::{Counters, SqlStore};

struct Tls {
    /// `postgres://intake_tls@localhost:PORT/DB`, no sslmode.
    url: url::Url,
    ca: String,
    other_ca: String,
}

async fn setup() -> Option<Tls> {
    let vars =
        ["INTAKE_TEST_PG_TLS_URL", "INTAKE_TEST_PG_TLS_CA", "INTAKE_TEST_PG_TLS_OTHER_CA", "INTAKE_TEST_DATABASE_URL"];
    let values: Vec<Option<String>> = vars.iter().map(|v| std::env::var(v).ok().filter(|s| !s.is_empty())).collect();
    if values.iter().any(Option::is_none) {
        if std::env::var("INTAKE_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("INTAKE_TEST_REQUIRE_POSTGRES=1 but one of {vars:?} is not set (scripts/scaleout.sh sets them)");
        }
        eprintln!("SKIPPED: {vars:?} are not all set (scripts/test.sh sets them)");
        return None;
    }
    let [tls_url, ca, other_ca, admin] = <[Option<String>; 4]>::try_from(values).unwrap().map(Option::unwrap);
    // The database the TLS connections use, made over the plain admin connection.
    SqlStore::create_postgres_database(&admin, "intake_tls_test").await.unwrap();
    let mut url = url::Url::parse(&tls_url).unwrap();
    url.set_path("/intake_tls_test");
    Some(Tls { url, ca, other_ca })
}

fn with(url: &url::Url, host: &str, params: &[(&str, &str)]) -> String {
    let mut url = url.clone();
    url.set_host(Some(host)).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Connects as intake does and makes one round trip: `Ok` only if the store is usable.
async fn connect(url: &str) -> Result<SqlStore, String> {
    let store = SqlStore::connect_postgres(url, 2).await.map_err(|e| e.to_string())?;
    store.ping().await.map_err(|e| e.to_string())?;
    Ok(store)
}

/// Whether the session that `url` opens is encrypted, as the server sees it.
async fn server_says_encrypted(url: &str) -> bool {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(&pool).await.unwrap();
    pool.close().await;
    ssl
}

#[tokio::test]
async fn require_and_verify_full_connect_over_tls() {
    let Some(tls) = setup().await else { return };
    // require: encrypted, the certificate not checked (so the address may be any).
    let require = with(&tls.url, "127.0.0.1", &[("sslmode", "require")]);
    connect(&require).await.expect("sslmode=require connects");
    assert!(server_says_encrypted(&require).await);
    // verify-full: the CA given and the name the certificate was issued for.
    let full = with(&tls.url, "localhost", &[("sslmode", "verify-full"), ("sslrootcert", &tls.ca)]);
    connect(&full).await.expect("sslmode=verify-full with the right CA and name connects");
    assert!(server_says_encrypted(&full).await);
    // The role may not connect without TLS at all: what connected above went over TLS.
    let plain = with(&tls.url, "127.0.0.1", &[("sslmode", "disable")]);
    let refused = connect(&plain).await.err().expect("the TLS-only role is refused without TLS");
    assert!(refused.contains("pg_hba") || refused.contains("no encryption"), "{refused}");
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_that_does_not_match() {
    let Some(tls) = setup().await else { return };
    // The certificate names localhost, not 127.0.0.1.
    let wrong_name = with(&tls.url, "127.0.0.1", &[("sslmode", "verify-full"), ("sslrootcert", &tls.ca)]);
    let error = connect(&wrong_name).await.err().expect("a certificate for another name is refused");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    // A CA that did not sign the server's certificate.
    let wrong_ca = with(&tls.url, "localhost", &[("sslmode", "verify-full"), ("sslrootcert", &tls.other_ca)]);
    let error = connect(&wrong_ca).await.err().expect("a certificate from an untrusted CA is refused");
    assert!(error.to_lowercase().contains("certificate") || error.contains("UnknownIssuer"), "{error}");
}
