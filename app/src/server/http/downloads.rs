//! The WHMCS module's files, downloaded from Settings → Connect signups (admins only, like
//! every page). Built into the binary, so the module always matches the affdesk serving it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const MODULE: &str = include_str!("../../../../integrations/whmcs/affdesk.php");
const SAMPLE_CONFIG: &str =
    include_str!("../../../../integrations/whmcs/affdesk_config.sample.php");

/// `GET /settings/connect/whmcs/{file}`: `affdesk.php` or `affdesk_config.sample.php`.
pub async fn whmcs_file(Path(file): Path<String>) -> Response {
    let body = match file.as_str() {
        "affdesk.php" => MODULE,
        "affdesk_config.sample.php" => SAMPLE_CONFIG,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                "No such file: the WHMCS module is affdesk.php and affdesk_config.sample.php.",
            )
                .into_response()
        }
    };
    (
        [
            (
                header::CONTENT_TYPE,
                "application/x-php; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}
