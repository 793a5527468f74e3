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
    assert_eq!(repos.migrations.schema_version, 5);
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
    ];
    #[cfg(not(feature = "elasticsearch"))]
    let cases = [
        &cases[..],
        &[(
            "https://elastic:secret@es:9200",
            StoreErrorKind::Unsupported,
            "rebuild with `--features elasticsearch`",
        )],
    ]
    .concat();
    #[cfg(feature = "elasticsearch")]
    let cases = [
        &cases[..],
        &[
            (
                "http://elastic:secret@127.0.0.1:1",
                StoreErrorKind::Unavailable,
                "cannot connect (`http://elastic:***@127.0.0.1:1`)",
            ),
            (
                "http://elastic:secret@127.0.0.1:1?index=gk",
                StoreErrorKind::InvalidData,
                "unknown parameter `index`",
            ),
            (
                "https://elastic:secret@es:notaport",
                StoreErrorKind::InvalidData,
                "invalid Elasticsearch URL `https://elastic:***@es:notaport`",
            ),
        ],
    ]
    .concat();
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
    #[cfg(not(feature = "postgres"))]
    let cases = [
        &cases[..],
        &[(
            "postgres://gk:secret@db/gk",
            StoreErrorKind::Unsupported,
            "rebuild with `--features postgres`",
        )],
    ]
    .concat();
    #[cfg(feature = "postgres")]
    let cases = [
        &cases[..],
        &[
            (
                "postgres://gk:secret@127.0.0.1:1/gk",
                StoreErrorKind::Unavailable,
                "cannot connect (`postgres://gk:***@127.0.0.1:1/gk`)",
            ),
            (
                "postgresql://gk@127.0.0.1:1/gk?password=secret",
                StoreErrorKind::Unavailable,
                "password=***",
            ),
            (
                "postgres://gk:secret@127.0.0.1:notaport/gk",
                StoreErrorKind::InvalidData,
                "invalid PostgreSQL URL `postgres://gk:***@127.0.0.1:notaport/gk`",
            ),
            (
                "postgres://gk:secret@127.0.0.1:1/gk?sslmode=sometimes",
                StoreErrorKind::InvalidData,
                "invalid PostgreSQL URL",
            ),
        ],
    ]
    .concat();
    for (url, kind, text) in cases {
        let err = store::open(url).await.expect_err(url);
        assert_eq!(err.kind(), kind, "{url}: {err}");
        assert!(err.to_string().contains(text), "{url}: {err}");
        assert!(!err.to_string().contains("secret"), "{url}: {err}");
        assert!(!format!("{err:?}").contains("secret"), "{url}: {err:?}");
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
