//! What a page shows in place of data it could not load.

use super::form::Banner;
use crate::domain::states::NoticeKind;
use crate::model::error::ApiError;
use leptos::prelude::*;

/// The error banner for a `Resource` that answered `Err`: the one way every page shows it.
#[component]
pub fn LoadError(error: ApiError) -> impl IntoView {
    let text = error.to_string();
    view! {
        <Banner kind=NoticeKind::Error>
            <p>{text}</p>
        </Banner>
    }
}
