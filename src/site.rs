//! The built site's files: `pkg/` (the wasm modules, their JavaScript, the stylesheet) and what
//! `public/` holds (the icon, robots.txt), read into memory once at start-up, from the directory
//! `LEPTOS_SITE_ROOT` names or from the binary itself (built with `--features embed-site`).
//!
//! Served as a browser should get them:
//! - under a name that changes with the content: every file is also at
//!   `/assets/<build id>/<path>`, where the build id is a hash of all the files, and that is the
//!   name pages use. Those answers are `immutable` for a year, so a returning admin's browser asks
//!   for nothing but the page; a new release has a new id, so its files are fetched under their
//!   new names and never mixed with the previous release's. The id covers the whole site rather
//!   than each file because the wasm loader finds its split modules beside itself.
//! - at their plain paths too (`/robots.txt`, `/pkg/affdesk.js`), revalidated on each use
//!   (`no-cache` with an `ETag`): links from outside, and pages still open from before a release.
//! - compressed: `cargo leptos build --release --precompress` writes a brotli (`.br`) and a gzip
//!   (`.gz`) copy beside each file, and a client that accepts either gets it instead of the file
//!   (a page's wasm uncompressed is about three times its brotli copy). A build without them
//!   (debug) is served as it is.

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::util::ServiceExt;
use tower::Service;

/// The URL prefix of the content-named copies; `/assets/<build id>/pkg/affdesk.js`.
pub const ASSETS_PREFIX: &str = "/assets";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Every file of one build of the site, by path relative to the site root (`pkg/affdesk.js`).
#[derive(Debug)]
pub struct SiteFiles {
    build_id: String,
    files: HashMap<String, SiteFile>,
}

#[derive(Debug)]
struct SiteFile {
    content_type: HeaderValue,
    etag: HeaderValue,
    identity: Bytes,
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
}

/// Where the site comes from, in the order `affdesk serve` looks: a directory named on the command
/// line or in `LEPTOS_SITE_ROOT`, else the copy built into the binary, else `target/site`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteSource {
    Directory(PathBuf),
    Embedded,
    /// No files: pages work, without JavaScript. For tests that never load the site.
    Empty,
}

impl SiteSource {
    pub fn choose(site_root: Option<&str>) -> Self {
        match site_root {
            Some(dir) => Self::Directory(dir.into()),
            None if embedded::FILES.is_empty() => Self::Directory("target/site".into()),
            None => Self::Embedded,
        }
    }
}

impl std::fmt::Display for SiteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Directory(dir) => write!(f, "{}", dir.display()),
            Self::Embedded => f.write_str("the copy built into this binary"),
            Self::Empty => f.write_str("no site"),
        }
    }
}

impl SiteFiles {
    pub fn load(source: &SiteSource) -> anyhow::Result<Self> {
        match source {
            SiteSource::Directory(dir) => Self::read_dir(dir),
            SiteSource::Embedded => {
                Ok(Self::from_entries(embedded::FILES.iter().map(
                    |(path, bytes)| ((*path).to_owned(), Bytes::from_static(bytes)),
                )))
            }
            SiteSource::Empty => Ok(Self::from_entries([])),
        }
    }

    /// Every file under `root`. A missing directory is an empty site (the pages still work,
    /// without JavaScript), which the start-up log reports.
    fn read_dir(root: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let files = crate::site_walk::files_under(root)
            .with_context(|| format!("reading the site in {}", root.display()))?;
        let mut entries = Vec::with_capacity(files.len());
        for (name, path) in files {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            entries.push((name, Bytes::from(bytes)));
        }
        Ok(Self::from_entries(entries))
    }

    /// The site from its files: each `x.br` and `x.gz` beside an `x` is that file's compressed
    /// copy, not a file of its own.
    fn from_entries(entries: impl IntoIterator<Item = (String, Bytes)>) -> Self {
        let all: BTreeMap<String, Bytes> = entries.into_iter().collect();
        let copy_of = |name: &str, suffix: &str| {
            name.strip_suffix(suffix)
                .filter(|original| all.contains_key(*original))
                .is_some()
        };
        let mut build = Sha256::new();
        let mut files = HashMap::new();
        for (name, identity) in &all {
            if copy_of(name, ".br") || copy_of(name, ".gz") {
                continue;
            }
            let digest = Sha256::digest(identity);
            build.update(name.as_bytes());
            build.update([0]);
            build.update(digest);
            let etag = format!("\"{}\"", hex(&digest[..12]));
            let content_type = mime_guess::from_path(name).first_or_octet_stream();
            files.insert(
                name.clone(),
                SiteFile {
                    content_type: HeaderValue::from_str(content_type.as_ref())
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                    etag: HeaderValue::from_str(&etag).expect("hex is a valid header value"),
                    identity: identity.clone(),
                    brotli: all.get(&format!("{name}.br")).cloned(),
                    gzip: all.get(&format!("{name}.gz")).cloned(),
                },
            );
        }
        Self {
            build_id: hex(&build.finalize()[..8]),
            files,
        }
    }

    /// Changes whenever any file does; pages name files under [`SiteFiles::assets_root`].
    pub fn build_id(&self) -> &str {
        &self.build_id
    }

    /// `/assets/<build id>`: the root of the URLs pages give the browser.
    pub fn assets_root(&self) -> String {
        format!("{ASSETS_PREFIX}/{}", self.build_id)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The answer for `name` (a path relative to the site root), if there is such a file.
    fn answer(&self, name: &str, request: &HeaderMap, cache: &'static str) -> Option<Response> {
        let file = self.files.get(name)?;
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, file.content_type.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::ETAG, file.etag.clone());
        // The same URL answers in different encodings: a cache must key on what the client accepts.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if if_none_match(request, &file.etag) {
            return Some((StatusCode::NOT_MODIFIED, headers).into_response());
        }
        let accepted = Accepted::from_headers(request);
        let (body, encoding) = match (&file.brotli, &file.gzip) {
            (Some(brotli), _) if accepted.brotli => (brotli, Some("br")),
            (_, Some(gzip)) if accepted.gzip => (gzip, Some("gzip")),
            _ => (&file.identity, None),
        };
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        Some((headers, Body::from(body.clone())).into_response())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn if_none_match(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(tags) = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == ours || tag.strip_prefix("W/") == Some(ours))
}

/// The compressed copies a client's `Accept-Encoding` allows (`q=0` refuses one).
#[derive(Debug, Default, PartialEq, Eq)]
struct Accepted {
    brotli: bool,
    gzip: bool,
}

impl Accepted {
    fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .fold(Self::default(), |accepted, value| accepted.with(value))
    }

    fn with(mut self, value: &str) -> Self {
        for item in value.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match coding.as_str() {
                "br" => self.brotli = !refused,
                "gzip" => self.gzip = !refused,
                "*" if !refused => {
                    self.brotli = true;
                    self.gzip = true;
                }
                _ => {}
            }
        }
        self
    }
}

/// `router` with the site's files behind its routes: `/assets/<build id>/…` cached for good,
/// anything else the router does not match revalidated, and `not_found` for what is neither.
pub fn with_site_files<S, NotFound>(
    router: Router<S>,
    files: Arc<SiteFiles>,
    not_found: NotFound,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    NotFound:
        Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    NotFound::Future: Send + 'static,
{
    let site = Site { files, not_found };
    // Any method: what is not a GET or HEAD gets the 404 page, as a path that is no file does.
    let hashed = any(hashed_file::<NotFound>).with_state(site.clone());
    router
        .route(&format!("{ASSETS_PREFIX}/{{build}}/{{*path}}"), hashed)
        .fallback_service(tower::service_fn(move |req: Request| {
            let site = site.clone();
            async move { Ok::<_, Infallible>(site.plain_file(req).await) }
        }))
}

#[derive(Clone)]
struct Site<NotFound> {
    files: Arc<SiteFiles>,
    not_found: NotFound,
}

impl<NotFound> Site<NotFound>
where
    NotFound: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    NotFound::Future: Send + 'static,
{
    async fn plain_file(self, req: Request) -> Response {
        let readable = matches!(*req.method(), Method::GET | Method::HEAD);
        let name = req.uri().path().trim_start_matches('/').to_owned();
        match self.files.answer(&name, req.headers(), REVALIDATE) {
            Some(response) if readable => without_body_for_head(req.method(), response),
            _ => self.not_found(req).await,
        }
    }

    async fn not_found(self, req: Request) -> Response {
        match self.not_found.oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// A file under `/assets/<build id>/`: only this build's id names files; an older page asking
/// for its release's files gets the 404 page (and works on without JavaScript).
async fn hashed_file<NotFound>(
    State(site): State<Site<NotFound>>,
    UrlPath((build, path)): UrlPath<(String, String)>,
    req: Request,
) -> Response
where
    NotFound: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    NotFound::Future: Send + 'static,
{
    let readable = matches!(*req.method(), Method::GET | Method::HEAD);
    let answer = (readable && build == site.files.build_id)
        .then(|| site.files.answer(&path, req.headers(), IMMUTABLE))
        .flatten();
    match answer {
        Some(response) => without_body_for_head(req.method(), response),
        None => site.not_found(req).await,
    }
}

fn without_body_for_head(method: &Method, response: Response) -> Response {
    if method != Method::HEAD {
        return response;
    }
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, Body::empty())
}

/// The site built into the binary: `build.rs` lists the files of `LEPTOS_SITE_ROOT` when the
/// `embed-site` feature is on, and nothing otherwise.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_site.rs"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(files: &[(&str, &[u8])]) -> SiteFiles {
        SiteFiles::from_entries(
            files
                .iter()
                .map(|(name, bytes)| ((*name).to_owned(), Bytes::copy_from_slice(bytes))),
        )
    }

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn compressed_copies_belong_to_their_file() {
        let files = site(&[
            ("pkg/a.js", b"js"),
            ("pkg/a.js.br", b"br"),
            ("pkg/a.js.gz", b"gz"),
            ("notes.gz", b"a file of its own"),
        ]);
        assert_eq!(files.len(), 2);
        let file = &files.files["pkg/a.js"];
        assert_eq!(file.brotli.as_deref(), Some(&b"br"[..]));
        assert_eq!(file.gzip.as_deref(), Some(&b"gz"[..]));
        assert_eq!(file.content_type, "text/javascript");
        assert!(files.files.contains_key("notes.gz"));
    }

    #[test]
    fn the_build_id_changes_with_any_file_and_only_then() {
        let one = site(&[("pkg/a.js", b"one"), ("favicon.svg", b"<svg/>")]);
        let same = site(&[("favicon.svg", b"<svg/>"), ("pkg/a.js", b"one")]);
        let changed = site(&[("pkg/a.js", b"two"), ("favicon.svg", b"<svg/>")]);
        let renamed = site(&[("pkg/b.js", b"one"), ("favicon.svg", b"<svg/>")]);
        // A compressed copy follows its file; it does not change the id by itself.
        let recompressed = site(&[
            ("pkg/a.js", b"one"),
            ("pkg/a.js.br", b"x"),
            ("favicon.svg", b"<svg/>"),
        ]);
        assert_eq!(one.build_id(), same.build_id());
        assert_eq!(one.build_id(), recompressed.build_id());
        assert_ne!(one.build_id(), changed.build_id());
        assert_ne!(one.build_id(), renamed.build_id());
        assert_eq!(one.build_id().len(), 16);
        assert_eq!(one.assets_root(), format!("/assets/{}", one.build_id()));
    }

    #[test]
    fn accept_encoding_is_read_with_its_weights() {
        let read = |value: &str| Accepted::from_headers(&accepting(value));
        let both = Accepted {
            brotli: true,
            gzip: true,
        };
        assert_eq!(read("gzip, deflate, br"), both);
        assert_eq!(read("*"), both);
        assert_eq!(
            read("GZIP;q=0.5"),
            Accepted {
                brotli: false,
                gzip: true
            }
        );
        assert_eq!(
            read("br;q=0, gzip"),
            Accepted {
                brotli: false,
                gzip: true
            }
        );
        assert_eq!(
            read("*, br;q=0"),
            Accepted {
                brotli: false,
                gzip: true
            }
        );
        assert_eq!(read("identity"), Accepted::default());
        assert_eq!(
            Accepted::from_headers(&HeaderMap::new()),
            Accepted::default()
        );
    }

    #[test]
    fn a_matching_etag_costs_no_body() {
        let files = site(&[("a.txt", b"text")]);
        let etag = files.files["a.txt"].etag.clone();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{}", etag.to_str().unwrap())).unwrap(),
        );
        let response = files.answer("a.txt", &headers, REVALIDATE).unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        let response = files
            .answer("a.txt", &HeaderMap::new(), REVALIDATE)
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::ETAG], etag);
        assert!(files
            .answer("b.txt", &HeaderMap::new(), REVALIDATE)
            .is_none());
    }
}
