//! The files under a site root, named by their path relative to it with `/` between parts
//! (`pkg/affdesk.js`). Shared by `build.rs` (which embeds them) and `site.rs` (which reads them at
//! start-up), so both name a file the same way.

use std::path::{Path, PathBuf};

/// Every file under `root` (in no particular order); a missing `root` holds none.
pub fn files_under(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let listing = match std::fs::read_dir(&dir) {
            Ok(listing) => listing,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && dir == root => break,
            Err(err) => return Err(err),
        };
        for entry in listing {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let name = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, path));
        }
    }
    Ok(files)
}
