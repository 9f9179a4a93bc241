//! With the `embed-site` feature, lists the built site's files (`LEPTOS_SITE_ROOT`, else
//! `target/site`) for `src/site.rs` to include in the binary, so a release is one file to deploy.
//! `cargo leptos build --release --precompress` builds the site before the server, so the files
//! are the same build's (without `--precompress` it builds both at once: do not embed then).
//! Without the feature the list is empty and the server reads the site from disk.

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/site_walk.rs"]
mod site_walk;

fn main() {
    // Without the feature nothing outside this script matters (and naming nothing would make
    // cargo rerun it whenever any file of the package changes).
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut source = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    if std::env::var_os("CARGO_FEATURE_EMBED_SITE").is_some() {
        println!("cargo::rerun-if-env-changed=LEPTOS_SITE_ROOT");
        let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set"));
        let root = manifest_dir
            .join(std::env::var_os("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()));
        println!("cargo::rerun-if-changed={}", root.display());
        let mut files = site_walk::files_under(&root).expect("reading the site directory");
        assert!(
            files.iter().any(|(name, _)| name.starts_with("pkg/")),
            "the embed-site feature includes the built site, but {} holds no pkg/ directory: \
             build it with `cargo leptos build --release --precompress --bin-features embed-site` \
             (cargo-leptos builds the site before the server only for a precompressed release)",
            root.display()
        );
        files.sort();
        for (name, path) in files {
            writeln!(
                source,
                "    ({name:?}, include_bytes!({:?})),",
                path.display()
            )
            .unwrap();
        }
    }
    source.push_str("];\n");
    std::fs::write(out.join("embedded_site.rs"), source).expect("writing embedded_site.rs");
}
