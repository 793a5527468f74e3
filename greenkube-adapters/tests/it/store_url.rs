//! `store::open` chooses the backend from the URL and says clearly what it cannot open.

use greenkube_adapters::store;
use greenkube_core::ports::StoreErrorKind;

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_urls_open() {
    let repos = store::open("sqlite::memory:").await.expect("opens");
    assert_eq!(repos.backend, store::Backend::Sqlite);
    assert_eq!(repos.location, "sqlite::memory:");
    assert_eq!(repos.footprints.backend(), "sqlite");
    assert_eq!(repos.migrations.schema_version, 2);
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    let cases = [
        ("", StoreErrorKind::InvalidData, "empty store URL"),
        (
            "greenkube.db",
            StoreErrorKind::Unsupported,
            "`sqlite://greenkube.db`",
        ),
        (
            "mysql://root@db/gk",
            StoreErrorKind::Unsupported,
            "not a store URL",
        ),
        (
            "postgres://gk:secret@db/gk",
            StoreErrorKind::Unsupported,
            "`postgres` store is not implemented yet",
        ),
        (
            "https://es:9200",
            StoreErrorKind::Unsupported,
            "`elasticsearch` store is not implemented yet",
        ),
    ];
    #[cfg(feature = "sqlite")]
    let cases = [
        &cases[..],
        &[
            ("sqlite://", StoreErrorKind::InvalidData, "no file"),
            (
                "sqlite://gk.db?mode=bogus",
                StoreErrorKind::InvalidData,
                "invalid SQLite URL",
            ),
        ],
    ]
    .concat();
    for (url, kind, text) in cases {
        let err = store::open(url).await.expect_err(url);
        assert_eq!(err.kind(), kind, "{url}: {err}");
        assert!(err.to_string().contains(text), "{url}: {err}");
        assert!(!err.to_string().contains("secret"), "{url}: {err}");
    }
}

#[cfg(not(feature = "sqlite"))]
#[tokio::test]
async fn sqlite_not_compiled_in_says_so() {
    let err = store::open("sqlite::memory:")
        .await
        .expect_err("not compiled in");
    assert_eq!(err.kind(), StoreErrorKind::Unsupported);
    assert!(
        err.to_string().contains("rebuild with `--features sqlite`"),
        "{err}"
    );
}
