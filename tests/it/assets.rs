//! The site's files as a browser gets them: under a name that changes with the build and cached
//! for good, or at their plain path and revalidated; the precompressed copy the client's
//! `Accept-Encoding` allows; without a session; and the 404 page for what is not there. The files
//! are written by the test into a site root of its own, so the test does not depend on a build;
//! the database is not involved (SQLite only).

use crate::common::{within_limit, Backend, TestApp};
use affdesk::site::SiteSource;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use reqwest::StatusCode;
use std::path::Path;
const WASM: &[u8] = b"\0asm\x01\0\0\0 the module itself";
// The server hands these out as they are; it never decodes them, so any bytes do.
const WASM_BR: &[u8] = b"brotli copy of the module";
const WASM_GZ: &[u8] = b"gzip copy of the module";
const CSS: &[u8] = b"body { margin: 0 }";

fn write_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("affdesk.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("affdesk.wasm.br"), WASM_BR).unwrap();
    std::fs::write(pkg.join("affdesk.wasm.gz"), WASM_GZ).unwrap();
    // A file built without compressed copies (a debug build).
    std::fs::write(pkg.join("affdesk.css"), CSS).unwrap();
}

async fn get(
    app: &TestApp,
    path: &str,
    accept_encoding: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = app.bare_client().get(app.url(path));
    if let Some(accept) = accept_encoding {
        req = req.header(ACCEPT_ENCODING, accept);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn header(headers: &reqwest::header::HeaderMap, name: impl reqwest::header::AsHeaderName) -> &str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

async fn spawn_on(site: &Path) -> TestApp {
    let root = site.to_path_buf();
    TestApp::spawn_with(Backend::Sqlite, |s| s.site = SiteSource::Directory(root))
        .await
        .expect("SQLite always runs")
}

/// `/assets/<build id>`, as the login page names the stylesheet.
async fn assets_root(app: &TestApp) -> String {
    let (_, _, body) = get(app, "/login", None).await;
    let page = String::from_utf8(body).unwrap();
    let start = page.find("/assets/").expect("the page names its assets");
    let end = start
        + page[start..]
            .find("/pkg/affdesk.css")
            .expect("the stylesheet link");
    page[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_files_are_named_by_build_cached_for_good_and_compressed() {
    let site = tempfile::tempdir().unwrap();
    write_site(site.path());
    let app = spawn_on(site.path()).await;
    within_limit(async {
        let root = assets_root(&app).await;
        let wasm = format!("{root}/pkg/affdesk.wasm");
        // A browser accepts both: brotli wins, labelled with the original's type.
        let (status, headers, body) = get(&app, &wasm, Some("gzip, deflate, br")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, WASM_BR);
        assert_eq!(header(&headers, CONTENT_ENCODING), "br");
        assert_eq!(header(&headers, CONTENT_TYPE), "application/wasm");
        assert_eq!(
            header(&headers, CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert!(
            header(&headers, VARY)
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "Vary: {:?}",
            headers.get(VARY)
        );

        let (status, headers, body) = get(&app, &wasm, Some("gzip")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, WASM_GZ);
        assert_eq!(header(&headers, CONTENT_ENCODING), "gzip");

        // No Accept-Encoding, or only encodings there is no copy for: the file itself.
        for accept in [None, Some("identity"), Some("zstd"), Some("br;q=0")] {
            let (status, headers, body) = get(&app, &wasm, accept).await;
            assert_eq!(status, StatusCode::OK, "{accept:?}");
            assert_eq!(body, WASM, "{accept:?}");
            assert_eq!(header(&headers, CONTENT_ENCODING), "", "{accept:?}");
        }
        // A file built without compressed copies is served as it is.
        let (status, headers, body) =
            get(&app, &format!("{root}/pkg/affdesk.css"), Some("br, gzip")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, CSS);
        assert_eq!(header(&headers, CONTENT_ENCODING), "");
        assert_eq!(header(&headers, CONTENT_TYPE), "text/css");

        // A HEAD answers the headers alone.
        let res = app.bare_client().head(app.url(&wasm)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.bytes().await.unwrap().is_empty());

        // Another build's name, a missing file, a directory, a POST: the application's 404 page.
        let other_build = "/assets/0000000000000000/pkg/affdesk.wasm";
        let missing = format!("{root}/pkg/missing.wasm");
        for path in [other_build, missing.as_str(), "/assets/", "/pkg/"] {
            assert_not_found(&app, path).await;
        }
        let res = app.bare_client().post(app.url(&wasm)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    })
    .await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_paths_are_revalidated_and_a_rebuilt_file_gets_a_new_name() {
    let site = tempfile::tempdir().unwrap();
    write_site(site.path());
    let app = spawn_on(site.path()).await;
    let mut first_root = String::new();
    within_limit(async {
        // The plain path: the browser may keep a copy but asks before using it.
        let (status, headers, body) = get(&app, "/pkg/affdesk.wasm", Some("br")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, WASM_BR);
        assert_eq!(header(&headers, CACHE_CONTROL), "no-cache");
        let etag = header(&headers, ETAG).to_owned();
        assert!(etag.starts_with('"'), "ETag: {etag:?}");
        let res = app
            .bare_client()
            .get(app.url("/pkg/affdesk.wasm"))
            .header(ACCEPT_ENCODING, "br")
            .header(IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert!(res.bytes().await.unwrap().is_empty());
        assert_not_found(&app, "/pkg/missing.wasm").await;
        first_root = assets_root(&app).await;
    })
    .await;
    app.cleanup().await;

    // The stylesheet is rebuilt: every file moves to the new build's name, and the old name is
    // gone, so no page mixes two builds.
    std::fs::write(site.path().join("pkg/affdesk.css"), b"body { margin: 1px }").unwrap();
    let app = spawn_on(site.path()).await;
    within_limit(async {
        let root = assets_root(&app).await;
        assert_ne!(root, first_root);
        let (status, _, body) = get(&app, &format!("{root}/pkg/affdesk.css"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"body { margin: 1px }");
        assert_not_found(&app, &format!("{first_root}/pkg/affdesk.css")).await;
    })
    .await;
    app.cleanup().await;
}

async fn assert_not_found(app: &TestApp, path: &str) {
    let (status, headers, body) = get(app, path, Some("br")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    assert!(
        header(&headers, CONTENT_TYPE).starts_with("text/html"),
        "{path}"
    );
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("Page not found"), "{path}: {page}");
}
