//! The site's files as a browser gets them: the precompressed copy its `Accept-Encoding` allows,
//! revalidated rather than cached blindly, without a session, and the 404 page for what is not
//! there. The files are written by the test into a site root of its own, so the test does not
//! depend on a build; the database is not involved (SQLite only).

use crate::common::{within_limit, Backend, TestApp};
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, IF_MODIFIED_SINCE,
    LAST_MODIFIED, VARY,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_files_are_served_compressed_revalidated_and_without_a_session() {
    let site = tempfile::tempdir().unwrap();
    write_site(site.path());
    let root = site.path().to_str().unwrap().to_owned();
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.site_root = root)
        .await
        .expect("SQLite always runs");
    within_limit(async {
        // A browser accepts both: brotli wins, labelled with the original's type.
        let (status, headers, body) =
            get(&app, "/pkg/affdesk.wasm", Some("gzip, deflate, br")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, WASM_BR);
        assert_eq!(header(&headers, CONTENT_ENCODING), "br");
        assert_eq!(header(&headers, CONTENT_TYPE), "application/wasm");
        assert_eq!(header(&headers, CACHE_CONTROL), "no-cache");
        assert!(
            header(&headers, VARY)
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "Vary: {:?}",
            headers.get(VARY)
        );

        let (status, headers, body) = get(&app, "/pkg/affdesk.wasm", Some("gzip")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, WASM_GZ);
        assert_eq!(header(&headers, CONTENT_ENCODING), "gzip");

        // No Accept-Encoding, or only encodings there is no copy for: the file itself.
        for accept in [None, Some("identity"), Some("zstd")] {
            let (status, headers, body) = get(&app, "/pkg/affdesk.wasm", accept).await;
            assert_eq!(status, StatusCode::OK, "{accept:?}");
            assert_eq!(body, WASM, "{accept:?}");
            assert_eq!(header(&headers, CONTENT_ENCODING), "", "{accept:?}");
        }
        // A file built without compressed copies is served as it is.
        let (status, headers, body) = get(&app, "/pkg/affdesk.css", Some("br, gzip")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, CSS);
        assert_eq!(header(&headers, CONTENT_ENCODING), "");
        assert_eq!(header(&headers, CONTENT_TYPE), "text/css");
        assert_eq!(header(&headers, CACHE_CONTROL), "no-cache");

        // The browser asks again with the date it has; an unchanged file costs no body.
        let (_, headers, _) = get(&app, "/pkg/affdesk.wasm", Some("br")).await;
        let last_modified = header(&headers, LAST_MODIFIED).to_owned();
        assert!(
            !last_modified.is_empty(),
            "no Last-Modified to revalidate with"
        );
        let res = app
            .bare_client()
            .get(app.url("/pkg/affdesk.wasm"))
            .header(ACCEPT_ENCODING, "br")
            .header(IF_MODIFIED_SINCE, &last_modified)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert!(res.bytes().await.unwrap().is_empty());

        // What is not there is the application's 404 page, for files and directories alike.
        for path in ["/pkg/missing.wasm", "/pkg/"] {
            let (status, headers, body) = get(&app, path, Some("br")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(
                header(&headers, CONTENT_TYPE).starts_with("text/html"),
                "{path}"
            );
            let page = String::from_utf8(body).unwrap();
            assert!(page.contains("Page not found"), "{path}: {page}");
        }
    })
    .await;
    app.cleanup().await;
}
